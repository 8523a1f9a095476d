//! RTP packet building and parsing (RFC 3550 §5), sans-IO.
//!
//! Parsing and header writing go through `rtp-rs` (`RtpReader` is a borrow
//! of the datagram, `RtpPacketBuilder::build_into` writes into our own
//! buffer), so neither direction allocates per packet.

use std::net::SocketAddr;

use rand::RngCore;
use rtp_rs::{RtpPacketBuilder, RtpReader, Seq};

/// Largest datagram we build or accept (an Ethernet MTU is plenty for
/// G.711 at up to 60 ms ptime: 12 + 480 bytes).
pub const MAX_PACKET: usize = 1500;

/// Why a datagram was not accepted as RTP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    #[error("datagram of {0} bytes is shorter than the 12-byte RTP header")]
    TooShort(usize),
    #[error("RTP version {0}, expected 2 (RFC 3550 §5.1)")]
    BadVersion(u8),
    #[error("CSRC list or header extension runs past the end of the datagram")]
    Truncated,
    #[error("padding length {0} is invalid (RFC 3550 §5.1: P bit)")]
    BadPadding(u8),
    #[error("output buffer too small for the RTP packet")]
    BufferTooSmall,
    #[error("payload type {0} is outside 0..=127")]
    BadPayloadType(u8),
}

impl From<rtp_rs::RtpReaderError> for RtpError {
    fn from(e: rtp_rs::RtpReaderError) -> Self {
        use rtp_rs::RtpReaderError as E;
        match e {
            E::BufferTooShort(n) => RtpError::TooShort(n),
            E::UnsupportedVersion(v) => RtpError::BadVersion(v),
            E::HeadersTruncated { .. } => RtpError::Truncated,
            E::PaddingLengthInvalid(p) => RtpError::BadPadding(p),
        }
    }
}

/// The fields of a validated RTP packet that the media layer uses. The
/// payload borrows the datagram; padding, CSRCs and the header extension
/// have been skipped (RFC 3550 §5.1, §5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub payload_type: u8,
    pub marker: bool,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: &'a [u8],
}

/// What a datagram arriving on the RTP port is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datagram<'a> {
    Rtp(RtpPacket<'a>),
    /// RTCP multiplexed on the RTP port (RFC 5761 §4: second byte 192..=223).
    /// We do not use receiver reports for a robo-call; they are dropped.
    Rtcp,
}

/// Classify and validate a datagram (RFC 3550 §5.1, RFC 5761 §4).
pub fn parse(data: &[u8]) -> Result<Datagram<'_>, RtpError> {
    if data.len() >= 2 && data[0] >> 6 == 2 && (192..=223).contains(&data[1]) {
        return Ok(Datagram::Rtcp);
    }
    let r = RtpReader::new(data)?;
    Ok(Datagram::Rtp(RtpPacket {
        payload_type: r.payload_type(),
        marker: r.mark(),
        seq: u16::from(r.sequence_number()),
        timestamp: r.timestamp(),
        ssrc: r.ssrc(),
        payload: r.payload(),
    }))
}

/// Sender state of one RTP stream (RFC 3550 §5.1).
///
/// SSRC, initial sequence number and initial timestamp are random, as
/// §5.1 asks, so that known-plaintext attacks on SRTP and confusion with a
/// previous stream are unlikely. The marker bit is set on the first packet
/// of each talkspurt (RFC 3551 §4.1): the first packet of the call and the
/// first after a pacing gap.
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    marker_next: bool,
    packets: u64,
    octets: u64,
}

impl RtpSender {
    /// A stream with random SSRC, sequence number and timestamp.
    pub fn new(rng: &mut impl RngCore) -> Self {
        Self::with_initial(rng.next_u32(), rng.next_u32() as u16, rng.next_u32())
    }

    /// A stream with given initial values (tests, seeded runs).
    pub fn with_initial(ssrc: u32, seq: u16, timestamp: u32) -> Self {
        Self {
            ssrc,
            seq,
            timestamp,
            marker_next: true,
            packets: 0,
            octets: 0,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Sequence number the next packet will carry.
    pub fn next_seq(&self) -> u16 {
        self.seq
    }

    /// RTP timestamp the next media frame will carry.
    pub fn next_timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Packets and payload octets sent (the RTCP SR counters of §6.4.1).
    pub fn counters(&self) -> (u64, u64) {
        (self.packets, self.octets)
    }

    /// Mark the next packet as the start of a talkspurt.
    pub fn start_talkspurt(&mut self) {
        self.marker_next = true;
    }

    /// Advance the media clock by `samples` without sending: a gap, e.g.
    /// frames skipped after a scheduling stall. The receiver sees the
    /// timestamp jump with consecutive sequence numbers, i.e. silence, and
    /// the next packet starts a new talkspurt.
    pub fn skip(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
        self.marker_next = true;
    }

    /// Write one media packet carrying `samples` samples of `payload` into
    /// `out`; return its length. Advances seq by 1 and timestamp by
    /// `samples` (160 per 20 ms frame at 8 kHz, RFC 3551 §4.5.14).
    pub fn write_media(
        &mut self,
        payload_type: u8,
        payload: &[u8],
        samples: u32,
        out: &mut [u8],
    ) -> Result<usize, RtpError> {
        let ts = self.timestamp;
        let marker = self.marker_next;
        let n = self.write_raw(payload_type, marker, ts, payload, out)?;
        self.marker_next = false;
        self.timestamp = ts.wrapping_add(samples);
        Ok(n)
    }

    /// Write a packet with an explicit timestamp and marker (for RFC 4733
    /// events, which keep the timestamp of the event start while sharing
    /// the stream's SSRC and sequence space, RFC 4733 §2.3). Advances seq.
    pub fn write_raw(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, RtpError> {
        if payload_type > 127 {
            return Err(RtpError::BadPayloadType(payload_type));
        }
        let b = RtpPacketBuilder::new()
            .payload_type(payload_type)
            .ssrc(self.ssrc)
            .sequence(Seq::from(self.seq))
            .timestamp(timestamp)
            .marked(marker)
            .payload(payload);
        let n = b.build_into(out).map_err(|e| match e {
            rtp_rs::RtpPacketBuildError::BufferTooSmall => RtpError::BufferTooSmall,
            _ => RtpError::BadPayloadType(payload_type),
        })?;
        self.seq = self.seq.wrapping_add(1);
        self.packets += 1;
        self.octets += payload.len() as u64;
        Ok(n)
    }
}

/// Symmetric RTP (RFC 4961): send to where the peer's media actually comes
/// from, so a peer behind NAT hears us even though its SDP names a private
/// address.
///
/// Rules, in order (the "strict RTP" learning Asterisk adopted after the
/// RTP-bleed attacks, so that a stranger spraying packets at our port can
/// neither redirect our audio nor inject digits):
/// 1. Packets of the current SSRC from the address in the SDP are always the
///    peer's: accepted, and the send address returns there.
/// 2. Packets of the current SSRC from the address we send to are accepted.
///    A *new* SSRC from either address is the peer restarting its stream
///    (re-INVITE, transfer) only once it has sent [`Latch::LEARN`] packets in
///    sequence with no packet of the current stream between them; until then
///    it is not used. Two streams interleaving from one address (a far end
///    still sending a call that ended, e.g. to the port of a call lost in a
///    restart) never take over the live one, and are never mixed into it.
/// 3. The peer's SSRC continuing its sequence (within
///    [`Latch::MAX_SEQ_GAP`]) from a new address is a NAT rebinding: the
///    send address moves there.
/// 4. Before anything has been accepted, another address is *learned*
///    after [`Latch::LEARN`] packets in sequence from it with one SSRC
///    (a NATed peer whose SDP names its private address); until then its
///    packets are not used.
/// 5. Anything else is foreign and ignored.
#[derive(Debug, Clone)]
pub struct Latch {
    sdp: SocketAddr,
    remote: SocketAddr,
    ssrc: Option<u32>,
    last_seq: u16,
    latched: bool,
    candidate: Option<Candidate>,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    addr: SocketAddr,
    ssrc: u32,
    seq: u16,
    count: u8,
}

/// What [`Latch::check`] decided about one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatchVerdict {
    /// From the current peer; use it.
    Accept,
    /// Accepted, and the send address moved to this source.
    Moved(SocketAddr),
    /// From an address being learned; not used yet.
    Learning,
    /// Not the peer's: ignore the packet.
    Foreign,
}

impl Latch {
    /// How far ahead a packet from a new address may be and still count as
    /// continuing the stream.
    pub const MAX_SEQ_GAP: u16 = 100;
    /// Packets in sequence needed to learn an address not named in SDP.
    pub const LEARN: u8 = 4;

    /// Start with the address from SDP.
    pub fn new(sdp_remote: SocketAddr) -> Self {
        Self {
            sdp: sdp_remote,
            remote: sdp_remote,
            ssrc: None,
            last_seq: 0,
            latched: false,
            candidate: None,
        }
    }

    /// Where to send now.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// The SSRC we are receiving, once known.
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// Judge one valid RTP packet from `src`.
    pub fn check(&mut self, src: SocketAddr, ssrc: u32, seq: u16) -> LatchVerdict {
        let current_ssrc = self.ssrc.is_none_or(|s| s == ssrc);
        let peer_addr = src == self.sdp || (self.latched && src == self.remote);
        let continuing = self.latched
            && self.ssrc == Some(ssrc)
            && (1..=Self::MAX_SEQ_GAP).contains(&seq.wrapping_sub(self.last_seq));
        if (peer_addr && current_ssrc) || continuing {
            return self.accept(src, ssrc, seq);
        }
        if self.latched && !peer_addr {
            return LatchVerdict::Foreign;
        }
        // A new address before anything was accepted, or a new SSRC from the
        // peer's address: adopted after LEARN uninterrupted packets in sequence.
        let c = match self.candidate {
            Some(c) if c.addr == src && c.ssrc == ssrc && seq == c.seq.wrapping_add(1) => {
                Candidate {
                    seq,
                    count: c.count + 1,
                    ..c
                }
            }
            _ => Candidate {
                addr: src,
                ssrc,
                seq,
                count: 1,
            },
        };
        if c.count >= Self::LEARN {
            return self.accept(src, ssrc, seq);
        }
        self.candidate = Some(c);
        LatchVerdict::Learning
    }

    fn accept(&mut self, src: SocketAddr, ssrc: u32, seq: u16) -> LatchVerdict {
        let moved = src != self.remote;
        self.remote = src;
        self.ssrc = Some(ssrc);
        self.last_seq = seq;
        self.latched = true;
        self.candidate = None;
        if moved {
            LatchVerdict::Moved(src)
        } else {
            LatchVerdict::Accept
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    fn addr(p: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], p))
    }

    #[test]
    fn sender_advances_seq_ts_and_marks_first_packet() {
        let mut s = RtpSender::with_initial(0xDEADBEEF, 65534, u32::MAX - 100);
        let mut buf = [0u8; MAX_PACKET];
        let payload = [0xFFu8; 160];
        let mut seen = Vec::new();
        for _ in 0..4 {
            let n = s.write_media(0, &payload, 160, &mut buf).unwrap();
            assert_eq!(n, 172);
            let Datagram::Rtp(p) = parse(&buf[..n]).unwrap() else {
                panic!("rtcp?")
            };
            seen.push((p.seq, p.timestamp, p.marker, p.ssrc, p.payload.len()));
        }
        assert_eq!(
            seen,
            vec![
                (65534, u32::MAX - 100, true, 0xDEADBEEF, 160),
                (65535, 59, false, 0xDEADBEEF, 160),
                (0, 219, false, 0xDEADBEEF, 160),
                (1, 379, false, 0xDEADBEEF, 160),
            ]
        );
        s.skip(320);
        let n = s.write_media(0, &payload, 160, &mut buf).unwrap();
        let Datagram::Rtp(p) = parse(&buf[..n]).unwrap() else {
            panic!()
        };
        assert_eq!((p.seq, p.timestamp, p.marker), (2, 859, true));
        assert_eq!(s.counters(), (5, 800));
    }

    #[test]
    fn random_initial_values_differ_between_streams() {
        let mut rng = StdRng::seed_from_u64(7);
        let a = RtpSender::new(&mut rng);
        let b = RtpSender::new(&mut rng);
        assert_ne!(a.ssrc(), b.ssrc());
        assert_ne!(a.next_timestamp(), b.next_timestamp());
    }

    #[test]
    fn parse_validates_version_padding_csrc_extension() {
        assert_eq!(parse(&[0x80, 0, 0]), Err(RtpError::TooShort(3)));
        let mut v1 = [0u8; 20];
        v1[0] = 0x40;
        assert_eq!(parse(&v1), Err(RtpError::BadVersion(1)));
        // CSRC count 2 but only 4 extra bytes.
        let mut c = [0u8; 16];
        c[0] = 0x82;
        assert_eq!(parse(&c), Err(RtpError::Truncated));
        // CSRC count 1, extension with 1 word, padding 2, payload 3.
        let mut p = vec![0xB1u8, 0x80 | 8, 0, 5, 0, 0, 0, 9, 1, 2, 3, 4];
        p.extend_from_slice(&[0, 0, 0, 0]); // CSRC
        p.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // extension
        p.extend_from_slice(&[7, 7, 7, 0, 2]); // payload 7 7 7, pad 2
        let Datagram::Rtp(r) = parse(&p).unwrap() else {
            panic!()
        };
        assert_eq!(
            (r.payload_type, r.marker, r.seq, r.timestamp),
            (8, true, 5, 9)
        );
        assert_eq!(r.ssrc, 0x01020304);
        assert_eq!(r.payload, &[7, 7, 7]);
        // Padding longer than the packet.
        let mut bad = vec![0xA0u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 200];
        assert_eq!(parse(&bad), Err(RtpError::BadPadding(200)));
        bad[13] = 0;
        assert_eq!(parse(&bad), Err(RtpError::BadPadding(0)));
    }

    #[test]
    fn rtcp_muxed_on_rtp_port_is_recognised() {
        // A receiver report: V=2, RC=0, PT=201, length 1.
        let rr = [0x80, 201, 0, 1, 1, 2, 3, 4];
        assert_eq!(parse(&rr), Ok(Datagram::Rtcp));
    }

    #[test]
    fn latch_learns_nat_address_but_not_strangers() {
        let mut l = Latch::new(addr(4000));
        // Media actually arrives from the NAT's public port: learned after
        // LEARN packets in sequence, not used before.
        for seq in 10..13 {
            assert_eq!(l.check(addr(5000), 1, seq), LatchVerdict::Learning);
        }
        assert_eq!(l.remote(), addr(4000));
        assert_eq!(l.check(addr(5000), 1, 13), LatchVerdict::Moved(addr(5000)));
        assert_eq!(l.remote(), addr(5000));
        assert_eq!(l.check(addr(5000), 1, 14), LatchVerdict::Accept);
        // A stranger with another SSRC cannot steal the stream.
        for seq in 0..20 {
            assert_eq!(l.check(addr(6666), 99, seq), LatchVerdict::Foreign);
        }
        assert_eq!(l.remote(), addr(5000));
        // Same SSRC, far-off sequence from a new address: refused.
        assert_eq!(l.check(addr(7000), 1, 30000), LatchVerdict::Foreign);
        // NAT rebinding: same SSRC, continuing sequence → moves.
        assert_eq!(l.check(addr(7001), 1, 15), LatchVerdict::Moved(addr(7001)));
        // Peer restarts its stream from the latched address: adopted after
        // LEARN packets in sequence.
        for seq in 500..503 {
            assert_eq!(l.check(addr(7001), 42, seq), LatchVerdict::Learning);
        }
        assert_eq!(l.check(addr(7001), 42, 503), LatchVerdict::Accept);
        assert_eq!(l.ssrc(), Some(42));
        // The SDP address is authoritative (a new stream from it is learned the same way).
        for seq in 1..4 {
            assert_eq!(l.check(addr(4000), 7, seq), LatchVerdict::Learning);
        }
        assert_eq!(l.check(addr(4000), 7, 4), LatchVerdict::Moved(addr(4000)));
    }

    #[test]
    fn a_second_stream_from_the_peer_address_is_never_mixed_in() {
        let mut l = Latch::new(addr(4000));
        assert_eq!(l.check(addr(4000), 1, 100), LatchVerdict::Accept);
        // A stale stream (SSRC 9) interleaves with the live one (SSRC 1):
        // its packets are never used, and it never takes over.
        for i in 0..200u16 {
            assert_eq!(l.check(addr(4000), 9, 7000 + i), LatchVerdict::Learning);
            assert_eq!(l.check(addr(4000), 1, 101 + i), LatchVerdict::Accept);
        }
        assert_eq!(l.ssrc(), Some(1));
        // When the live stream really stops and another continues, it is adopted.
        for i in 0..3u16 {
            assert_eq!(l.check(addr(4000), 9, 8000 + i), LatchVerdict::Learning);
        }
        assert_eq!(l.check(addr(4000), 9, 8003), LatchVerdict::Accept);
        assert_eq!(l.ssrc(), Some(9));
    }

    #[test]
    fn a_flood_before_the_peer_speaks_is_never_learned() {
        let mut l = Latch::new(addr(4000));
        // Repeated or random sequence numbers from a stranger.
        for i in 0..1000u16 {
            let v = l.check(addr(6666), 0xBAD, i.wrapping_mul(7919));
            assert_eq!(v, LatchVerdict::Learning);
        }
        assert_eq!(l.remote(), addr(4000));
        // The real peer (from its SDP address) is accepted at once.
        assert_eq!(l.check(addr(4000), 1, 10), LatchVerdict::Accept);
        assert_eq!(l.check(addr(6666), 0xBAD, 1), LatchVerdict::Foreign);
    }

    #[test]
    fn latch_from_sdp_address_is_not_a_move() {
        let mut l = Latch::new(addr(4000));
        assert_eq!(l.check(addr(4000), 1, 10), LatchVerdict::Accept);
        assert_eq!(l.check(addr(4000), 1, 11), LatchVerdict::Accept);
    }

    /// Fuzz-style: random and mutated datagrams never panic, and whatever
    /// parses as RTP has a payload inside the datagram.
    #[test]
    fn random_datagrams_never_panic() {
        use rand::{Rng, RngCore};
        let mut rng = StdRng::seed_from_u64(0x0DD5EED);
        let mut s = RtpSender::with_initial(1, 2, 3);
        let mut good = [0u8; MAX_PACKET];
        let n = s.write_media(0, &[0x55; 160], 160, &mut good).unwrap();
        let mut buf = [0u8; 300];
        for i in 0..200_000 {
            let len = rng.gen_range(0..buf.len());
            if i % 2 == 0 {
                rng.fill_bytes(&mut buf[..len]);
                buf[0] = (buf[0] & 0x3F) | 0x80; // mostly version 2
            } else {
                buf[..n].copy_from_slice(&good[..n]);
                for _ in 0..rng.gen_range(1..4) {
                    let k = rng.gen_range(0..n);
                    buf[k] = rng.gen();
                }
            }
            let d = &buf[..len.max(if i % 2 == 0 { 0 } else { n })];
            if let Ok(Datagram::Rtp(p)) = parse(d) {
                let base = d.as_ptr() as usize;
                let at = p.payload.as_ptr() as usize;
                assert!(at >= base + 12 && at + p.payload.len() <= base + d.len());
            }
        }
    }
}
