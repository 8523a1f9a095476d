//! SDP offer/answer for one audio stream: RFC 4566 (SDP syntax), RFC 3264 (offer/answer),
//! RFC 3551 (static payload types 0 = PCMU, 8 = PCMA), RFC 4733 (telephone-event).
//!
//! Sans-IO and allocation-light: parsing borrows the body; nothing here reads a clock or a
//! socket. Every input, however malformed, gives a value or an [`SdpError`], never a panic
//! (fuzzed by `fuzz/fuzz_targets/sdp_parse.rs`).
//!
//! What is understood: `v=`, `c=` (session or media level; media wins, RFC 4566 §5.7),
//! `t=` (echoed in answers, RFC 3264 §6), `m=`, and the attributes `rtpmap`, `ptime`,
//! `sendrecv`/`sendonly`/`recvonly`/`inactive` (media level overrides session level,
//! RFC 3264 §5.1). Everything else is skipped. Lines may end in CRLF or bare LF; blank lines
//! are skipped. Only static payload types 0 and 8 are taken as PCMU/PCMA (a dynamic payload
//! type mapped to PCMU is not used); `telephone-event/8000` is found under any payload type
//! and in any letter case.
//!
//! Hold: a connection address of `0.0.0.0` (or `::`), the RFC 2543 way of putting a call on
//! hold (RFC 3264 §8.4), makes the remote's direction [`Direction::Inactive`]: there is
//! nowhere to send to, and we answer `a=inactive` (a valid answer to any offered direction).
//! [`RemoteMedia::addr`] keeps the unspecified address so the caller can see it.

use std::net::{IpAddr, SocketAddr};

mod offer_answer;
mod sdes;
mod syntax;

pub use offer_answer::{answer, check_srtp, hold_offer, offer, parse_answer};
pub use sdes::{SdesKey, SdesOffer, KEY_LEN as SDES_KEY_LEN, SUITE as SDES_SUITE};

/// The largest SDP body we parse (a UDP datagram can't carry more anyway).
pub const MAX_SDP_LEN: usize = 64 * 1024;

/// Payload type of telephone-event in our offers (RFC 4733 §7.1.1: dynamic).
pub const OFFER_DTMF_PT: u8 = 101;

/// Packet time we ask for, in milliseconds.
pub const DEFAULT_PTIME_MS: u32 = 20;

/// Bounds applied to a peer's `a=ptime` (RFC 4566 §6); values outside are clamped.
const PTIME_RANGE_MS: std::ops::RangeInclusive<u32> = 10..=200;

/// An audio codec we speak: G.711 in its two laws, static payload types (RFC 3551 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// G.711 µ-law, payload type 0.
    Pcmu,
    /// G.711 A-law, payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551 Table 4).
    #[must_use]
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The `rtpmap` encoding name.
    #[must_use]
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    fn from_static_pt(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }
}

/// Media direction attribute (RFC 3264 §5.1, RFC 4566 §6), from the point of view of the
/// party whose SDP carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default when none is given).
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name, e.g. `sendonly`.
    #[must_use]
    pub fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an answerer mirrors for this offered one (RFC 3264 §6.1): sendonly →
    /// recvonly, recvonly → sendonly, inactive → inactive, sendrecv → sendrecv.
    #[must_use]
    pub fn mirrored(self) -> Self {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }

    /// Whether the party with this direction sends media.
    #[must_use]
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the party with this direction receives media.
    #[must_use]
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    fn from_attribute(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// What the far end's SDP says about its audio stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteMedia {
    /// Where to send RTP. The IP may be unspecified (`0.0.0.0`) on RFC 2543 hold.
    pub addr: SocketAddr,
    /// The codec to send (the first of PCMU/PCMA in the remote's list).
    pub codec: Codec,
    /// The remote's telephone-event payload type, if it takes RFC 4733 events.
    pub dtmf_pt: Option<u8>,
    /// The remote's direction, as declared (Inactive on `0.0.0.0` hold).
    pub direction: Direction,
    /// The remote's `a=ptime`, clamped to 10..=200; 20 when absent.
    pub ptime_ms: u32,
    /// The remote's SRTP key (RFC 4568 `a=crypto`, what it protects with),
    /// when SRTP was agreed.
    pub srtp: Option<SdesKey>,
}

/// Our side of the session: where we receive RTP and the `o=` line's numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address put in `o=` and `c=` (the configured public address).
    pub addr: IpAddr,
    /// RTP port we receive on.
    pub port: u16,
    /// `o=` sess-id (RFC 4566 §5.2); constant for the session.
    pub session_id: u64,
    /// `o=` sess-version; the caller increments it on every changed offer (RFC 3264 §8).
    pub version: u64,
    /// SDES-SRTP (RFC 4568): our key, and whether plain RTP is refused.
    pub srtp: Option<SdesOffer>,
}

/// Why an SDP body could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is longer than [`MAX_SDP_LEN`].
    #[error("SDP body longer than {MAX_SDP_LEN} bytes")]
    TooLarge,
    /// The body has no lines.
    #[error("SDP body is empty")]
    Empty,
    /// The first line is not `v=0` (RFC 4566 §5.1).
    #[error("SDP does not begin with v=0")]
    BadVersion,
    /// A line is not `<letter>=<value>` (RFC 4566 §5). Lines are numbered from 1.
    #[error("SDP line {line} is not of the form <type>=<value>")]
    MalformedLine {
        /// 1-based line number.
        line: usize,
    },
    /// No `m=audio` line at all.
    #[error("SDP has no audio m-line")]
    NoAudioStream,
    /// The audio stream has port 0: rejected or disabled (RFC 3264 §6, §8.2).
    #[error("the audio stream is rejected (port 0)")]
    StreamRejected,
    /// An `m=` line is malformed (RFC 4566 §5.14).
    #[error("m-line at line {line} is malformed: {reason}")]
    BadMediaLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// An `m=` port is not a number in 0..=65535.
    #[error("m-line at line {line} has a bad port")]
    BadPort {
        /// 1-based line number.
        line: usize,
    },
    /// Neither the audio section nor the session has a `c=` line (RFC 4566 §5.7).
    #[error("no c= line for the audio stream")]
    MissingConnection,
    /// A `c=` line we need is malformed or unusable.
    #[error("c= at line {line}: {reason}")]
    BadConnection {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Audio is offered only over a transport we lack (e.g. `RTP/SAVP`, DTLS-SRTP).
    #[error("audio is offered only over a transport other than RTP/AVP")]
    UnsupportedTransport,
    /// No PCMU or PCMA in the offer: the caller answers 488 (RFC 3261 §13.3.1.4).
    #[error("no codec in common (PCMU or PCMA needed)")]
    NoCommonCodec,
    /// An answer selects none of the codecs we offered (RFC 3264 §6.1).
    #[error("the answer selects no codec we offered")]
    CodecNotOffered,
    /// SRTP is required here and the peer offered or answered no usable
    /// `a=crypto` (the caller answers 488 or hangs up, RFC 4568 §7.1.3).
    #[error("SRTP required and the peer has no usable a=crypto (AES_CM_128_HMAC_SHA1_80)")]
    SrtpRequired,
    /// An attribute we interpret is malformed.
    #[error("a={name} at line {line} is malformed")]
    BadAttribute {
        /// 1-based line number.
        line: usize,
        /// Attribute name.
        name: &'static str,
    },
}

#[cfg(test)]
mod tests;
