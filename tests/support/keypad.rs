//! The customer keying a card, as a real phone would send it:
//!
//! - **in-band**: key tones from spandsp's `dtmf_tx` (the reference generator,
//!   through `tests/support/spandsp_dtmf.c`), µ-law encoded by sox, streamed by
//!   SIPp (`rtp_stream`);
//! - **RFC 4733**: a capture (Ethernet/IPv4/UDP/RTP) of µ-law audio with
//!   telephone-event packets (PT 101) for the keys, replayed by SIPp
//!   (`play_pcap_audio`) at the capture's timing.
//!
//! Both follow one [`KeyScript`]: silence while the agent asks for the payment,
//! groups of keys with gaps between them (so each step's prompt can play), then
//! a 600 Hz marker tone: if the agent's recording holds it, the caller was back
//! with the agent after the payment.
#![allow(dead_code)]

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use super::dtmf_harness::{spandsp_rx, spandsp_tx};
use super::{scenario, sox_g711, write_wav, Sipp};

/// The caller's "I am back" tone, after the keys.
pub const MARKER_HZ: f64 = 600.0;
/// Marker amplitude (≈ −11 dBm0).
pub const MARKER_AMP: f64 = 6000.0;
/// Key tone timing: 100 ms on, 100 ms off (well inside Q.24's ≥ 40 ms).
pub const KEY_ON_MS: u32 = 100;
pub const KEY_OFF_MS: u32 = 100;
/// spandsp `dtmf_tx` level of the low tone (dBm0) and twist (dB).
pub const KEY_LEVEL_DBM0: i32 = -10;
pub const KEY_TWIST_DB: i32 = 0;
/// RTP payload types in the capture.
pub const PT_PCMU: u8 = 0;
pub const PT_EVENT: u8 = 101;

/// What the customer does after answering, in seconds from the answer.
#[derive(Debug, Clone)]
pub struct KeyScript {
    /// Silence before the first key (the agent requests the payment meanwhile).
    pub lead: f64,
    /// Groups of keys (`"1"`, `"4242424242424242#"`, …), each keyed at
    /// [`KEY_ON_MS`]/[`KEY_OFF_MS`].
    pub groups: Vec<String>,
    /// Silence between two groups.
    pub gap: f64,
    /// Silence between the last group and the marker.
    pub before_marker: f64,
    /// Marker length (0: none).
    pub marker: f64,
    /// Silence after the marker (the phone stays on the line).
    pub tail: f64,
}

/// Where things are in a rendered script (seconds from the answer).
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// (start, end) of each key group.
    pub groups: Vec<(f64, f64)>,
    /// (start, end) of the marker.
    pub marker: (f64, f64),
    pub total: f64,
}

const FRAME: usize = 160; // 20 ms at 8 kHz

fn frames(secs: f64) -> usize {
    (secs * 50.0).round() as usize
}

impl KeyScript {
    /// The standard card entry: amount "1", card number + `#`, "1", expiry,
    /// "1", CVC, "1", postal code, "1"; gaps of 1.3 s.
    pub fn card(lead: f64, pan: &str, expiry: &str, cvc: &str, postal: &str) -> KeyScript {
        KeyScript {
            lead,
            groups: vec![
                "1".into(),
                format!("{pan}#"),
                "1".into(),
                expiry.into(),
                "1".into(),
                cvc.into(),
                "1".into(),
                postal.into(),
                "1".into(),
            ],
            gap: 1.3,
            before_marker: 2.0,
            marker: 2.5,
            tail: 1.0,
        }
    }

    /// The amount's `1`, then a card number cancelled with `*`
    /// (`424242*`), then the marker.
    pub fn star_cancel() -> KeyScript {
        KeyScript {
            lead: 3.0,
            groups: vec!["1".into(), "424242*".into()],
            gap: 1.3,
            before_marker: 2.5,
            marker: 2.5,
            tail: 1.0,
        }
    }

    /// Only silence, then the marker at `marker_at` seconds.
    pub fn silent(marker_at: f64, marker: f64, tail: f64) -> KeyScript {
        KeyScript {
            lead: marker_at,
            groups: Vec::new(),
            gap: 0.0,
            before_marker: 0.0,
            marker,
            tail,
        }
    }

    /// Every key of every group, in order.
    pub fn keys(&self) -> String {
        self.groups.concat()
    }

    /// The timeline in 20 ms frames: each group's digits at on/off timing.
    pub fn layout(&self) -> Layout {
        let key_frames = (KEY_ON_MS + KEY_OFF_MS) as usize / 20;
        let mut t = frames(self.lead);
        let mut groups = Vec::new();
        for (i, g) in self.groups.iter().enumerate() {
            let start = t;
            t += g.chars().count() * key_frames;
            groups.push((start as f64 / 50.0, t as f64 / 50.0));
            t += if i + 1 < self.groups.len() {
                frames(self.gap)
            } else {
                frames(self.before_marker)
            };
        }
        let m0 = t;
        t += frames(self.marker);
        let marker = (m0 as f64 / 50.0, t as f64 / 50.0);
        t += frames(self.tail);
        Layout {
            groups,
            marker,
            total: t as f64 / 50.0,
        }
    }

    /// Audio of the whole script with in-band keys from spandsp's `dtmf_tx`.
    pub fn inband_audio(&self) -> Vec<i16> {
        self.render(true)
    }

    /// The same timeline with the keys left silent (the audio under RFC 4733 events).
    pub fn voice_only_audio(&self) -> Vec<i16> {
        self.render(false)
    }

    fn render(&self, with_keys: bool) -> Vec<i16> {
        let l = self.layout();
        let mut x = vec![0i16; frames(l.total) * FRAME];
        if with_keys {
            for (g, &(start, end)) in self.groups.iter().zip(&l.groups) {
                let tones = spandsp_tx(g, KEY_LEVEL_DBM0, KEY_TWIST_DB, KEY_ON_MS, KEY_OFF_MS);
                let s = (start * 8000.0).round() as usize;
                let e = (end * 8000.0).round() as usize;
                // spandsp's timing is exact; never spill into the gap.
                for (i, v) in tones.into_iter().take(e - s).enumerate() {
                    x[s + i] = v;
                }
            }
        }
        let (m0, m1) = l.marker;
        write_tone(&mut x, m0, m1, MARKER_HZ, MARKER_AMP);
        x
    }

    /// Write the in-band audio as a µ-law file (sox) for SIPp's `rtp_stream`.
    pub fn write_ulaw(&self, dir: &Path, name: &str) -> PathBuf {
        let wav = dir.join(format!("{name}.wav"));
        write_wav(&wav, &self.inband_audio());
        let ul = dir.join(format!("{name}.ul"));
        sox_g711(&wav, &ul, "ul");
        ul
    }

    /// Write the script as an RFC 4733 capture for SIPp's `play_pcap_audio`.
    pub fn write_rfc4733_pcap(&self, dir: &Path, name: &str) -> PathBuf {
        let wav = dir.join(format!("{name}-voice.wav"));
        write_wav(&wav, &self.voice_only_audio());
        let ul = dir.join(format!("{name}-voice.ul"));
        sox_g711(&wav, &ul, "ul");
        let audio = std::fs::read(&ul).expect("read µ-law voice");
        let pcap = dir.join(format!("{name}.pcap"));
        std::fs::write(&pcap, rfc4733_capture(self, &audio)).expect("write pcap");
        pcap
    }
}

/// A sine from `t0` to `t1` (seconds) with 10 ms raised-cosine ramps, so its
/// edges do not splash energy across the band.
pub fn write_tone(x: &mut [i16], t0: f64, t1: f64, hz: f64, amp: f64) {
    let s = (t0 * 8000.0).round() as usize;
    let e = ((t1 * 8000.0).round() as usize).min(x.len());
    let ramp = 80usize;
    for (k, v) in x[s..e].iter_mut().enumerate() {
        let left = e - s - k;
        let env = if k < ramp {
            0.5 - 0.5 * (PI * k as f64 / ramp as f64).cos()
        } else if left < ramp {
            0.5 - 0.5 * (PI * left as f64 / ramp as f64).cos()
        } else {
            1.0
        };
        *v = (amp * env * (2.0 * PI * hz * k as f64 / 8000.0).sin()) as i16;
    }
}

/// A steady tone file (e.g. what a phone "says" so the other side can be checked).
pub fn tone_audio(secs: f64, hz: f64, amp: f64) -> Vec<i16> {
    let mut x = vec![0i16; (secs * 8000.0) as usize];
    write_tone(&mut x, 0.0, secs, hz, amp);
    x
}

/// Decode the in-band audio back with spandsp's `dtmf_rx` (reference) and
/// orderline's detector: (spandsp, orderline).
pub fn decode_both(audio: &[i16]) -> (String, String) {
    let theirs = spandsp_rx(&[audio.to_vec()]).remove(0);
    let ours: String = orderline::dtmf::decode_samples(audio)
        .iter()
        .map(|e| e.digit)
        .collect();
    (theirs, ours)
}

// ---------------------------------------------------------------------------
// RFC 4733 capture

/// Telephone-event code of a key (RFC 4733 §3.2).
pub fn event_code(d: char) -> u8 {
    match d {
        '0'..='9' => d as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A'..='D' => d as u8 - b'A' + 12,
        _ => panic!("not a DTMF key: {d}"),
    }
}

pub fn event_key(code: u8) -> char {
    b"0123456789*#ABCD"
        .get(usize::from(code))
        .map(|&b| b as char)
        .unwrap_or('?')
}

/// Source and destination of the captured packets (SIPp rewrites both).
const CAP_SRC_PORT: u16 = 40_000;
const CAP_DST_PORT: u16 = 40_002;
const CAP_SSRC: u32 = 0x5eed_4733;
/// Capture start: 2026-01-01T00:00:00Z (only differences matter to SIPp).
const CAP_EPOCH: u32 = 1_767_225_600;

/// One packet: (capture time in µs from the start, RTP datagram).
type Packet = (u64, Vec<u8>);

/// Build the capture: a 20 ms µ-law packet per frame from `audio`, except
/// while a key is held: then telephone-event packets every 20 ms (same RTP
/// timestamp = the key's start, duration growing by 160, marker bit on the
/// first), and the End packet three times, 20 ms apart (RFC 4733 §2.5.1.4).
pub fn rfc4733_capture(script: &KeyScript, audio: &[u8]) -> Vec<u8> {
    let layout = script.layout();
    let on = (KEY_ON_MS / 20) as usize;
    let step = ((KEY_ON_MS + KEY_OFF_MS) / 20) as usize;
    // Frame index → what to send instead of audio.
    let total = frames(layout.total);
    let mut plan: Vec<Option<(u8, usize, bool, u16)>> = vec![None; total];
    for (g, &(start, _)) in script.groups.iter().zip(&layout.groups) {
        let first = frames(start);
        for (k, d) in g.chars().enumerate() {
            let f0 = first + k * step;
            let code = event_code(d);
            for j in 0..on - 1 {
                plan[f0 + j] = Some((code, f0, false, (160 * (j + 1)) as u16));
            }
            for j in 0..3 {
                plan[f0 + on - 1 + j] = Some((code, f0, true, (160 * on) as u16));
            }
        }
    }
    let mut packets: Vec<Packet> = Vec::with_capacity(total);
    let mut seq: u16 = 4733;
    let mut last_event_start = usize::MAX;
    for (f, slot) in plan.iter().enumerate() {
        let at = f as u64 * 20_000;
        let mut rtp = Vec::with_capacity(12 + FRAME);
        match *slot {
            Some((code, start, end, duration)) => {
                let marker = start != last_event_start;
                last_event_start = start;
                rtp_header(&mut rtp, PT_EVENT, marker, seq, (start * FRAME) as u32);
                let volume = 10u8; // −10 dBm0
                rtp.extend_from_slice(&[code, (u8::from(end) << 7) | volume]);
                rtp.extend_from_slice(&duration.to_be_bytes());
            }
            None => {
                rtp_header(&mut rtp, PT_PCMU, false, seq, (f * FRAME) as u32);
                let a = f * FRAME;
                let chunk = audio.get(a..(a + FRAME).min(audio.len())).unwrap_or(&[]);
                rtp.extend_from_slice(chunk);
                rtp.resize(12 + FRAME, 0xff); // µ-law silence
            }
        }
        seq = seq.wrapping_add(1);
        packets.push((at, rtp));
    }
    write_pcap(&packets)
}

fn rtp_header(out: &mut Vec<u8>, pt: u8, marker: bool, seq: u16, ts: u32) {
    out.push(0x80);
    out.push((u8::from(marker) << 7) | pt);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ts.to_be_bytes());
    out.extend_from_slice(&CAP_SSRC.to_be_bytes());
}

/// Classic pcap (µs, Ethernet) of UDP datagrams 127.0.0.1:40000 → 127.0.0.1:40002.
fn write_pcap(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, (at, payload)) in packets.iter().enumerate() {
        let frame = ethernet_ipv4_udp(i as u16, payload);
        let sec = CAP_EPOCH + (at / 1_000_000) as u32;
        let usec = (at % 1_000_000) as u32;
        out.extend_from_slice(&sec.to_le_bytes());
        out.extend_from_slice(&usec.to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

fn ones_complement_sum(data: &[u8], mut sum: u32) -> u32 {
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ethernet_ipv4_udp(id: u16, payload: &[u8]) -> Vec<u8> {
    let lo = [127u8, 0, 0, 1];
    let udp_len = (8 + payload.len()) as u16;
    let ip_len = 20 + udp_len;
    let mut f = Vec::with_capacity(14 + ip_len as usize);
    f.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip.extend_from_slice(&lo);
    ip.extend_from_slice(&lo);
    let c = fold(ones_complement_sum(&ip, 0));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut udp = Vec::with_capacity(udp_len as usize);
    udp.extend_from_slice(&CAP_SRC_PORT.to_be_bytes());
    udp.extend_from_slice(&CAP_DST_PORT.to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    // Pseudo-header checksum (a zero would also be legal over IPv4).
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&lo);
    pseudo.extend_from_slice(&lo);
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&udp_len.to_be_bytes());
    let c = fold(ones_complement_sum(&udp, ones_complement_sum(&pseudo, 0)));
    let c = if c == 0 { 0xffff } else { c };
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&udp);
    f
}

/// One RTP packet read back from a capture.
#[derive(Debug, Clone)]
pub struct RtpPacket {
    pub at_us: u64,
    pub pt: u8,
    pub marker: bool,
    pub seq: u16,
    pub ts: u32,
    pub payload: Vec<u8>,
}

/// Read a capture back: the UDP payloads via the shared capture reader
/// (`tests/support/sipp_captures.rs`), each parsed as RTP, with its pcap time.
pub fn read_rtp_capture(pcap: &[u8]) -> Vec<RtpPacket> {
    let datagrams = super::sipp_captures::udp_payloads(pcap);
    // Record times: walk the record headers (the reader returns payloads only).
    let mut times = Vec::new();
    let mut off = 24;
    let u32le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut first = None;
    while off + 16 <= pcap.len() {
        let t = u64::from(u32le(&pcap[off..])) * 1_000_000 + u64::from(u32le(&pcap[off + 4..]));
        let t0 = *first.get_or_insert(t);
        times.push(t - t0);
        off += 16 + u32le(&pcap[off + 8..]) as usize;
    }
    assert_eq!(times.len(), datagrams.len());
    datagrams
        .iter()
        .zip(times)
        .map(|(d, at_us)| {
            assert!(d.len() >= 12 && d[0] >> 6 == 2, "not RTP v2");
            RtpPacket {
                at_us,
                pt: d[1] & 0x7f,
                marker: d[1] & 0x80 != 0,
                seq: u16::from_be_bytes([d[2], d[3]]),
                ts: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
                payload: d[12..].to_vec(),
            }
        })
        .collect()
}

/// The keys in a capture as the project's RFC 4733 receiver reads them.
pub fn decode_capture_orderline(pkts: &[RtpPacket]) -> String {
    let mut rx = orderline::dtmf::EventReceiver::new();
    let mut out = String::new();
    for p in pkts.iter().filter(|p| p.pt == PT_EVENT) {
        if let Some(e) = rx.on_packet(p.ts, &p.payload) {
            out.push(e.digit);
        }
        while let Some(e) = rx.poll_event() {
            out.push(e.digit);
        }
    }
    out
}

/// The keys in a capture read by hand (independent of the project): one key
/// per distinct (timestamp, event) whose End bit was seen; also returns how
/// many End packets each key had.
pub fn decode_capture_by_hand(pkts: &[RtpPacket]) -> (String, Vec<usize>) {
    let mut keys = String::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut last: Option<(u32, u8)> = None;
    for p in pkts.iter().filter(|p| p.pt == PT_EVENT) {
        let (code, end) = (p.payload[0], p.payload[1] & 0x80 != 0);
        if !end {
            continue;
        }
        if last == Some((p.ts, code)) {
            *ends.last_mut().expect("a key") += 1;
        } else {
            keys.push(event_key(code));
            ends.push(1);
            last = Some((p.ts, code));
        }
    }
    (keys, ends)
}

/// G.711 µ-law decode (ITU-T G.711), for reading the capture's audio back.
pub fn ulaw_decode(b: u8) -> i16 {
    let c = !b;
    let e = (c >> 4) & 7;
    let m = i32::from(c & 0x0f);
    let mag = (((m << 3) + 0x84) << e) - 0x84;
    (if c & 0x80 != 0 { -mag } else { mag }) as i16
}

// ---------------------------------------------------------------------------
// SIPp as the customer

/// The customer: SIPp answers on its own port (the daemon's trunk) with
/// PCMU + telephone-event and, on the ACK, streams the in-band script.
pub fn customer_inband(dir: &Path, script: &KeyScript) -> Sipp {
    let ul = script.write_ulaw(dir, "customer-keys");
    let action = format!("rtp_stream=\"{},1,0\"", ul.display());
    customer_with(dir, &action)
}

/// As [`customer_inband`], sending the keys as RFC 4733 events.
pub fn customer_rfc4733(dir: &Path, script: &KeyScript) -> Sipp {
    let pcap = script.write_rfc4733_pcap(dir, "customer-keys");
    let action = format!("play_pcap_audio=\"{}\"", pcap.display());
    customer_with(dir, &action)
}

fn customer_with(dir: &Path, action: &str) -> Sipp {
    let sc = scenario(
        dir,
        "callee_inband.xml",
        &[
            ("@CODEC_PT@", "0"),
            ("@CODEC_NAME@", "PCMU"),
            ("@MEDIA_ACTION@", action),
        ],
    );
    Sipp::start(&sc, dir, &[])
}

/// Sanity check used by the self-tests: the in-band script decodes to its keys.
pub fn assert_script_decodes(script: &KeyScript) {
    let audio = script.inband_audio();
    let (theirs, ours) = decode_both(&audio);
    assert_eq!(
        theirs,
        script.keys(),
        "spandsp's dtmf_rx read the key audio differently"
    );
    assert_eq!(
        ours,
        script.keys(),
        "orderline's detector read the key audio differently"
    );
}
