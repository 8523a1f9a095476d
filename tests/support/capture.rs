//! What a far end heard, from the wire: `tcpdump` on the loopback captures
//! the RTP between orderline and a SIPp customer, and this reads it back
//! (classic pcap, read by hand: 24-byte file header, 16-byte record
//! headers, Ethernet/IPv4/UDP) into per-port streams of G.711 audio levels
//! with their arrival times. SIPp itself records nothing; the capture at the
//! customer's socket is the customer's own recording.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running capture; [`Capture::finish`] stops it and reads it.
pub struct Capture {
    child: Child,
    path: PathBuf,
}

/// One captured RTP packet's arrival and audio level.
#[derive(Debug, Clone, Copy)]
pub struct Packet {
    /// Seconds since the capture's first packet.
    pub at: f64,
    pub src: u16,
    pub dst: u16,
    /// Mean absolute sample value of the µ-law payload (0 for none).
    pub level: f64,
    /// A SIP `200` response (the answer to an INVITE, a BYE or a CANCEL):
    /// when a far end answered, as its own socket sent it.
    pub sip_200: bool,
}

impl Capture {
    /// Capture UDP on `lo` into `dir/capture.pcap` (first 300 bytes of each
    /// packet: headers and a 20 ms G.711 payload). Fails loudly when
    /// tcpdump is missing or may not capture.
    pub fn start(dir: &Path) -> Capture {
        super::require("tcpdump");
        let path = dir.join("capture.pcap");
        let child = Command::new("tcpdump")
            // Stay root: the file lives in the test's private directory.
            .args(["-i", "lo", "-U", "-n", "-Z", "root", "-s", "300", "-w"])
            .arg(&path)
            .arg("udp")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcpdump");
        let t0 = Instant::now();
        // The file header is written once the capture is open.
        while std::fs::metadata(&path).map_or(true, |m| m.len() < 24) {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "tcpdump did not open a capture on lo (it needs CAP_NET_RAW: run the suite as root)"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Opened is not yet capturing: give it a moment.
        std::thread::sleep(Duration::from_millis(300));
        Capture { child, path }
    }

    /// The packets captured so far (tcpdump writes each at once, `-U`), to
    /// wait on what a far end has received without stopping the capture.
    pub fn so_far(&self) -> Vec<Packet> {
        std::fs::read(&self.path).map_or_else(|_| Vec::new(), |d| read_pcap(&d))
    }

    /// Stop (SIGINT flushes the file) and read every UDP packet.
    pub fn finish(mut self) -> Vec<Packet> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        read_pcap(&std::fs::read(&self.path).expect("read capture"))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn u16be(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Parse a classic little-endian microsecond pcap of Ethernet frames.
pub fn read_pcap(data: &[u8]) -> Vec<Packet> {
    assert!(data.len() >= 24, "not a pcap file");
    assert_eq!(
        &data[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian µs pcap expected"
    );
    let link = u32::from_le_bytes([data[20], data[21], data[22], data[23]]);
    assert_eq!(link, 1, "Ethernet link type expected on lo");
    let mut out = Vec::new();
    let mut first: Option<f64> = None;
    let mut at = 24;
    while at + 16 <= data.len() {
        let h = &data[at..at + 16];
        let sec = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as f64;
        let usec = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as f64;
        let caplen = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        at += 16;
        if at + caplen > data.len() {
            break; // the last record cut short by the stop
        }
        let frame = &data[at..at + caplen];
        at += caplen;
        let t = sec + usec / 1e6;
        let t0 = *first.get_or_insert(t);
        // Ethernet (14) → IPv4 (IHL) → UDP (8).
        if frame.len() < 14 + 20 + 8 || u16be(frame, 12) != 0x0800 {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if ip[9] != 17 || ip.len() < ihl + 8 {
            continue;
        }
        let udp = &ip[ihl..];
        let (src, dst) = (u16be(udp, 0), u16be(udp, 2));
        let payload = &udp[8..];
        out.push(Packet {
            at: t - t0,
            src,
            dst,
            level: rtp_level(payload),
            sip_200: payload.starts_with(b"SIP/2.0 200 "),
        });
    }
    out
}

/// Mean absolute sample of a PCMU (PT 0) RTP packet's payload; 0 for other
/// packets (SIP, events, RTCP).
fn rtp_level(p: &[u8]) -> f64 {
    if p.len() <= 12 || p[0] >> 6 != 2 || p[1] & 0x7f != 0 {
        return 0.0;
    }
    let audio = &p[12..];
    let sum: f64 = audio.iter().map(|&b| f64::from(ulaw(b)).abs()).sum();
    sum / audio.len() as f64
}

/// G.711 µ-law to linear (ITU-T G.711 §2), written out here so that the
/// measure does not rest on the code under test.
fn ulaw(b: u8) -> i16 {
    let b = !b;
    let sign = b & 0x80;
    let exp = (b >> 4) & 0x07;
    let mant = i32::from(b & 0x0f);
    let mag = (((mant << 3) + 0x84) << exp) - 0x84;
    (if sign != 0 { -mag } else { mag }) as i16
}

/// Packets grouped by the port on orderline's side of each RTP stream to
/// or from the customer port `far`: (what the customer sent, what the
/// customer received), each in arrival order.
pub fn streams_with(packets: &[Packet], far: u16) -> HashMap<u16, (Vec<Packet>, Vec<Packet>)> {
    let ours: std::collections::HashSet<u16> = packets
        .iter()
        .filter(|p| p.dst == far)
        .map(|p| p.src)
        .collect();
    let mut out: HashMap<u16, (Vec<Packet>, Vec<Packet>)> = HashMap::new();
    for p in packets {
        if p.dst == far {
            out.entry(p.src).or_default().1.push(*p);
        } else if ours.contains(&p.dst) {
            out.entry(p.dst).or_default().0.push(*p);
        }
    }
    out
}
