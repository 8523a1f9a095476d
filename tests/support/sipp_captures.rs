//! SIPp's bundled RFC 2833 captures (Debian `sip-tester`, `/usr/share/sip-tester/
//! dtmf_2833_*.pcap`): one key press each, sent by a real implementation. Shared by
//! the DTMF receiver tests and the media session tests.
#![allow(dead_code)]

use std::path::Path;

/// One capture: the key it holds and the UDP payloads (RTP datagrams) in file order.
pub struct Capture {
    pub name: &'static str,
    pub digit: char,
    pub datagrams: Vec<Vec<u8>>,
}

const CAPTURES: [(&str, char); 12] = [
    ("0", '0'),
    ("1", '1'),
    ("2", '2'),
    ("3", '3'),
    ("4", '4'),
    ("5", '5'),
    ("6", '6'),
    ("7", '7'),
    ("8", '8'),
    ("9", '9'),
    ("pound", '#'),
    ("star", '*'),
];

/// All twelve captures; fails (never skips) when the package is missing.
pub fn rfc2833_captures() -> Vec<Capture> {
    let dir = Path::new("/usr/share/sip-tester");
    CAPTURES
        .iter()
        .map(|&(name, digit)| {
            let path = dir.join(format!("dtmf_2833_{name}.pcap"));
            let data = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (install Debian package sip-tester)",
                    path.display()
                )
            });
            Capture {
                name,
                digit,
                datagrams: udp_payloads(&data)
                    .into_iter()
                    .map(<[u8]>::to_vec)
                    .collect(),
            }
        })
        .collect()
}

/// The UDP payload of each frame in a classic pcap file of Ethernet/IPv4/UDP frames.
pub fn udp_payloads(d: &[u8]) -> Vec<&[u8]> {
    let u32le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    assert_eq!(u32le(&d[0..4]), 0xa1b2_c3d4, "pcap magic");
    assert_eq!(u32le(&d[20..24]), 1, "Ethernet link type");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let incl = u32le(&d[off + 8..off + 12]) as usize;
        let pkt = &d[off + 16..off + 16 + incl];
        off += 16 + incl;
        let ip = &pkt[14..];
        let ihl = usize::from(ip[0] & 15) * 4;
        out.push(&ip[ihl + 8..]);
    }
    out
}
