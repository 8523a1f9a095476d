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

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

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
    /// An attribute we interpret is malformed.
    #[error("a={name} at line {line} is malformed")]
    BadAttribute {
        /// 1-based line number.
        line: usize,
        /// Attribute name.
        name: &'static str,
    },
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// `IP4` or `IP6` (RFC 4566 §5.7 addrtype).
fn addrtype(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

/// `v=`, `o=`, `s=`, `c=`, `t=` (RFC 4566 §5: this order).
fn session_head(out: &mut String, local: &LocalMedia, timing: &str) {
    let (at, ip) = (addrtype(local.addr), local.addr);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "v=0\r\no=orderline {} {} IN {at} {ip}\r\ns=orderline\r\nc=IN {at} {ip}\r\nt={timing}\r\n",
        local.session_id, local.version
    );
}

/// Our offer: PCMU, PCMA and telephone-event 101, ptime 20, with the given direction
/// (RFC 3264 §5; §8.4 for hold). Lines end in CRLF (RFC 4566 §5).
///
/// ```text
/// v=0
/// o=orderline <session_id> <version> IN IP4 <addr>
/// s=orderline
/// c=IN IP4 <addr>
/// t=0 0
/// m=audio <port> RTP/AVP 0 8 101
/// a=rtpmap:0 PCMU/8000
/// a=rtpmap:8 PCMA/8000
/// a=rtpmap:101 telephone-event/8000
/// a=fmtp:101 0-16
/// a=ptime:20
/// a=sendrecv
/// ```
#[must_use]
pub fn hold_offer(local: &LocalMedia, direction: Direction) -> String {
    let mut out = String::with_capacity(320);
    session_head(&mut out, local, "0 0");
    let _ = write!(
        out,
        "m=audio {port} RTP/AVP 0 8 {dtmf}\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:{dtmf} telephone-event/8000\r\n\
         a=fmtp:{dtmf} 0-16\r\n\
         a=ptime:{DEFAULT_PTIME_MS}\r\n\
         a={dir}\r\n",
        port = local.port,
        dtmf = OFFER_DTMF_PT,
        dir = direction.attribute(),
    );
    out
}

/// Our initial offer (sendrecv); see [`hold_offer`] for the exact text.
#[must_use]
pub fn offer(local: &LocalMedia) -> String {
    hold_offer(local, Direction::SendRecv)
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

/// A `c=` line: its address (TTL and count stripped) and where it was.
#[derive(Clone, Copy)]
struct Conn {
    ip: IpAddr,
}

/// An attribute line `a=name[:value]`.
struct Attr<'a> {
    line: usize,
    name: &'a str,
    value: Option<&'a str>,
}

/// One media section (RFC 4566 §5.14 and the lines after it).
struct Media<'a> {
    line: usize,
    kind: &'a str,
    port: u16,
    proto: &'a str,
    fmts: Vec<&'a str>,
    conn: Option<Result<Conn, SdpError>>,
    attrs: Vec<Attr<'a>>,
}

/// A parsed SDP body: only what offer/answer needs.
struct Sdp<'a> {
    timing: Option<&'a str>,
    conn: Option<Result<Conn, SdpError>>,
    attrs: Vec<Attr<'a>>,
    media: Vec<Media<'a>>,
}

/// Whether a token from the peer can be echoed into our SDP unchanged.
fn is_sdp_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

/// `c=IN IP4 192.0.2.1` / `c=IN IP6 2001:db8::1`, optionally `/ttl[/count]` (RFC 4566 §5.7).
fn parse_connection(value: &str, line: usize) -> Result<Conn, SdpError> {
    let bad = |reason| SdpError::BadConnection { line, reason };
    let mut it = value.split_ascii_whitespace();
    let (Some(net), Some(at), Some(addr), None) = (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(bad("expected: IN <IP4|IP6> <address>"));
    };
    if net != "IN" {
        return Err(bad("network type is not IN"));
    }
    let addr = addr.split('/').next().unwrap_or(addr);
    let ip: IpAddr = match addr.parse() {
        Ok(ip) => ip,
        Err(_) => {
            return Err(bad(
                "address is not an IP literal (host names are not resolved)",
            ))
        }
    };
    match (at, ip) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => {}
        ("IP4" | "IP6", _) => return Err(bad("address does not match its address type")),
        _ => return Err(bad("address type is not IP4 or IP6")),
    }
    if ip.is_multicast() {
        return Err(bad("multicast is not supported"));
    }
    Ok(Conn { ip })
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...` (RFC 4566 §5.14).
fn parse_media_line(value: &str, line: usize) -> Result<Media<'_>, SdpError> {
    let mut it = value.split_ascii_whitespace();
    let (Some(kind), Some(port), Some(proto)) = (it.next(), it.next(), it.next()) else {
        return Err(SdpError::BadMediaLine {
            line,
            reason: "expected: <media> <port> <proto> <fmt>...",
        });
    };
    let fmts: Vec<&str> = it.collect();
    if fmts.is_empty() {
        return Err(SdpError::BadMediaLine {
            line,
            reason: "no media formats",
        });
    }
    let port = port.split('/').next().unwrap_or(port);
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SdpError::BadPort { line });
    }
    let port: u16 = port.parse().map_err(|_| SdpError::BadPort { line })?;
    Ok(Media {
        line,
        kind,
        port,
        proto,
        fmts,
        conn: None,
        attrs: Vec::new(),
    })
}

/// Splits the body into lines and sections. Malformed lines of a kind we use are errors;
/// `c=` errors are kept and raised only if that `c=` is the one needed.
fn parse(sdp: &[u8]) -> Result<Sdp<'_>, SdpError> {
    if sdp.len() > MAX_SDP_LEN {
        return Err(SdpError::TooLarge);
    }
    let mut out = Sdp {
        timing: None,
        conn: None,
        attrs: Vec::new(),
        media: Vec::new(),
    };
    let mut seen_version = false;
    for (idx, raw) in sdp.split(|&b| b == b'\n').enumerate() {
        let line = idx + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let (kind, value) = match raw {
            [k, b'=', rest @ ..] if k.is_ascii_lowercase() => (*k, rest),
            _ => return Err(SdpError::MalformedLine { line }),
        };
        if !seen_version {
            if kind != b'v' || value.trim_ascii() != b"0" {
                return Err(SdpError::BadVersion);
            }
            seen_version = true;
            continue;
        }
        // Only lines we interpret must be UTF-8; s=, i= etc. may use another charset.
        let text = || std::str::from_utf8(value).map_err(|_| SdpError::MalformedLine { line });
        match kind {
            b'c' => {
                let c = text().and_then(|v| parse_connection(v, line));
                match out.media.last_mut() {
                    Some(m) => {
                        if m.conn.is_none() {
                            m.conn = Some(c);
                        }
                    }
                    None => {
                        if out.conn.is_none() {
                            out.conn = Some(c);
                        }
                    }
                }
            }
            b'm' => {
                let m = parse_media_line(text()?, line)?;
                out.media.push(m);
            }
            b't' if out.media.is_empty() && out.timing.is_none() => {
                out.timing = Some(text()?.trim())
            }
            b'a' => {
                let Ok(v) = text() else { continue };
                let (name, value) = match v.split_once(':') {
                    Some((n, val)) => (n.trim(), Some(val.trim())),
                    None => (v.trim(), None),
                };
                let attr = Attr { line, name, value };
                match out.media.last_mut() {
                    Some(m) => m.attrs.push(attr),
                    None => out.attrs.push(attr),
                }
            }
            _ => {}
        }
    }
    if !seen_version {
        return Err(SdpError::Empty);
    }
    Ok(out)
}

/// An `a=rtpmap:<pt> <encoding>/<rate>[/<channels>]` (RFC 4566 §6).
struct RtpMap<'a> {
    pt: u8,
    encoding: &'a str,
    rate: u32,
}

fn parse_rtpmap<'a>(a: &Attr<'a>) -> Result<RtpMap<'a>, SdpError> {
    let bad = SdpError::BadAttribute {
        line: a.line,
        name: "rtpmap",
    };
    let v = a.value.ok_or(bad.clone())?;
    let (pt, rest) = v.split_once(char::is_whitespace).ok_or(bad.clone())?;
    let pt: u8 = pt.parse().map_err(|_| bad.clone())?;
    if pt > 127 {
        return Err(bad);
    }
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty()).ok_or(bad.clone())?;
    let rate: u32 = parts.next().and_then(|r| r.parse().ok()).ok_or(bad)?;
    Ok(RtpMap { pt, encoding, rate })
}

/// What one audio section offers or answers, interpreted.
struct Negotiated {
    codec: Option<Codec>,
    dtmf_pt: Option<u8>,
    direction: Direction,
    ptime_ms: u32,
    ip: IpAddr,
}

/// Interprets the section's attributes (media level over session level).
fn interpret(sdp: &Sdp<'_>, m: &Media<'_>) -> Result<Negotiated, SdpError> {
    let conn = match m.conn.as_ref().or(sdp.conn.as_ref()) {
        None => return Err(SdpError::MissingConnection),
        Some(Err(e)) => return Err(e.clone()),
        Some(Ok(c)) => *c,
    };
    let mut pts = Vec::with_capacity(m.fmts.len());
    for f in &m.fmts {
        match f.parse::<u8>() {
            Ok(pt) if pt <= 127 => pts.push(pt),
            _ => {
                return Err(SdpError::BadMediaLine {
                    line: m.line,
                    reason: "RTP payload type is not 0..=127",
                })
            }
        }
    }
    let mut maps = Vec::new();
    for a in m.attrs.iter().filter(|a| a.name == "rtpmap") {
        maps.push(parse_rtpmap(a)?);
    }
    let map_of = |pt: u8| maps.iter().find(|r| r.pt == pt);
    // First of PCMU/PCMA in the peer's order; an rtpmap, if any, must agree with RFC 3551.
    let codec = pts.iter().find_map(|&pt| {
        let codec = Codec::from_static_pt(pt)?;
        match map_of(pt) {
            Some(r)
                if !(r.encoding.eq_ignore_ascii_case(codec.encoding_name()) && r.rate == 8000) =>
            {
                None
            }
            _ => Some(codec),
        }
    });
    let dtmf_pt = pts.iter().copied().find(|&pt| {
        map_of(pt)
            .is_some_and(|r| r.encoding.eq_ignore_ascii_case("telephone-event") && r.rate == 8000)
    });
    let direction = match section_direction(&m.attrs)? {
        Some(d) => d,
        None => section_direction(&sdp.attrs)?.unwrap_or(Direction::SendRecv),
    };
    let direction = if conn.ip.is_unspecified() {
        Direction::Inactive
    } else {
        direction
    };
    let ptime_ms = match section_ptime(&m.attrs)? {
        Some(p) => p,
        None => section_ptime(&sdp.attrs)?.unwrap_or(DEFAULT_PTIME_MS),
    };
    Ok(Negotiated {
        codec,
        dtmf_pt,
        direction,
        ptime_ms,
        ip: conn.ip,
    })
}

/// The direction attribute of one level, if any; two different ones are an error
/// (RFC 3264 §5.1 allows one).
fn section_direction(attrs: &[Attr<'_>]) -> Result<Option<Direction>, SdpError> {
    let mut found: Option<Direction> = None;
    for a in attrs {
        if let Some(d) = Direction::from_attribute(a.name) {
            if found.is_some_and(|f| f != d) {
                return Err(SdpError::BadAttribute {
                    line: a.line,
                    name: "direction",
                });
            }
            found = Some(d);
        }
    }
    Ok(found)
}

/// `a=ptime:<ms>` (RFC 4566 §6), a decimal allowed (`20.0`), clamped to 10..=200.
fn section_ptime(attrs: &[Attr<'_>]) -> Result<Option<u32>, SdpError> {
    let Some(a) = attrs.iter().find(|a| a.name == "ptime") else {
        return Ok(None);
    };
    let bad = SdpError::BadAttribute {
        line: a.line,
        name: "ptime",
    };
    let v = a.value.ok_or(bad.clone())?;
    let (int, frac) = v.split_once('.').unwrap_or((v, "0"));
    let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return Err(bad);
    }
    let ms: u32 = int.parse().map_err(|_| bad)?;
    Ok(Some(
        ms.clamp(*PTIME_RANGE_MS.start(), *PTIME_RANGE_MS.end()),
    ))
}

fn is_audio_avp(m: &Media<'_>) -> bool {
    m.kind == "audio" && m.proto.eq_ignore_ascii_case("RTP/AVP")
}

/// Reads the answer to one of our offers (RFC 3264 §7): its first m-line answers our only
/// one. The codec must be PCMU or PCMA (what we offered); the first of them in the answer's
/// list is used.
pub fn parse_answer(sdp: &[u8]) -> Result<RemoteMedia, SdpError> {
    let parsed = parse(sdp)?;
    let m = parsed.media.first().ok_or(SdpError::NoAudioStream)?;
    if m.kind != "audio" {
        return Err(SdpError::NoAudioStream);
    }
    if m.port == 0 {
        return Err(SdpError::StreamRejected);
    }
    if !is_audio_avp(m) {
        return Err(SdpError::UnsupportedTransport);
    }
    let n = interpret(&parsed, m)?;
    let codec = n.codec.ok_or(SdpError::CodecNotOffered)?;
    Ok(RemoteMedia {
        addr: SocketAddr::new(n.ip, m.port),
        codec,
        dtmf_pt: n.dtmf_pt,
        direction: n.direction,
        ptime_ms: n.ptime_ms,
    })
}

/// Answers an offer (inbound INVITE, or a re-INVITE) per RFC 3264 §6.
///
/// - The first `m=audio` over `RTP/AVP` with a non-zero port and PCMU or PCMA is accepted,
///   with the first of PCMU/PCMA in the offerer's order, plus telephone-event under the
///   offerer's payload type if offered.
/// - Every other m-line is rejected with port 0, keeping the count and order of m-lines
///   (RFC 3264 §6).
/// - Our direction mirrors the offer's (RFC 3264 §6.1): sendonly → recvonly, recvonly →
///   sendonly, inactive (or a `0.0.0.0` hold) → inactive.
/// - `t=` echoes the offer's (RFC 3264 §6).
///
/// Errors: [`SdpError::NoCommonCodec`] (the caller answers 488), [`SdpError::NoAudioStream`],
/// [`SdpError::StreamRejected`] when every audio stream has port 0,
/// [`SdpError::UnsupportedTransport`] when audio comes only over SRTP and the like, and
/// syntax errors.
pub fn answer(offer: &[u8], local: &LocalMedia) -> Result<(String, RemoteMedia), SdpError> {
    let parsed = parse(offer)?;
    let mut chosen: Option<(usize, Negotiated, Codec)> = None;
    let mut saw = Saw::default();
    for (i, m) in parsed.media.iter().enumerate() {
        if m.kind != "audio" {
            continue;
        }
        saw.audio = true;
        if m.port == 0 {
            continue;
        }
        if !is_audio_avp(m) {
            saw.other_transport = true;
            continue;
        }
        saw.avp = true;
        let n = interpret(&parsed, m)?;
        if let Some(codec) = n.codec {
            chosen = Some((i, n, codec));
            break;
        }
    }
    let Some((chosen_idx, n, codec)) = chosen else {
        return Err(if saw.avp {
            SdpError::NoCommonCodec
        } else if saw.other_transport {
            SdpError::UnsupportedTransport
        } else if saw.audio {
            SdpError::StreamRejected
        } else {
            SdpError::NoAudioStream
        });
    };
    let timing = parsed
        .timing
        .filter(|t| {
            let mut it = t.split(' ');
            let num = |s: Option<&str>| {
                s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            };
            num(it.next()) && num(it.next()) && it.next().is_none()
        })
        .unwrap_or("0 0");
    let mut out = String::with_capacity(320);
    session_head(&mut out, local, timing);
    for (i, m) in parsed.media.iter().enumerate() {
        if i == chosen_idx {
            let pt = codec.payload_type();
            let _ = write!(out, "m=audio {} RTP/AVP {pt}", local.port);
            if let Some(d) = n.dtmf_pt {
                let _ = write!(out, " {d}");
            }
            let _ = write!(out, "\r\na=rtpmap:{pt} {}/8000\r\n", codec.encoding_name());
            if let Some(d) = n.dtmf_pt {
                let _ = write!(
                    out,
                    "a=rtpmap:{d} telephone-event/8000\r\na=fmtp:{d} 0-16\r\n"
                );
            }
            let _ = write!(
                out,
                "a=ptime:{DEFAULT_PTIME_MS}\r\na={}\r\n",
                n.direction.mirrored().attribute()
            );
        } else {
            let fmt = m.fmts.first().copied().unwrap_or("0");
            if !(is_sdp_token(m.kind) && is_sdp_token(m.proto) && is_sdp_token(fmt)) {
                return Err(SdpError::BadMediaLine {
                    line: m.line,
                    reason: "non-printable characters",
                });
            }
            let _ = write!(out, "m={} 0 {} {fmt}\r\n", m.kind, m.proto);
        }
    }
    let chosen_port = parsed.media.get(chosen_idx).map_or(0, |m| m.port);
    let remote = RemoteMedia {
        addr: SocketAddr::new(n.ip, chosen_port),
        codec,
        dtmf_pt: n.dtmf_pt,
        direction: n.direction,
        ptime_ms: n.ptime_ms,
    };
    Ok((out, remote))
}

/// What [`answer`] saw while looking for a usable stream, to name the right error.
#[derive(Default)]
struct Saw {
    audio: bool,
    avp: bool,
    other_transport: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn local4() -> LocalMedia {
        LocalMedia {
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            port: 20000,
            session_id: 42,
            version: 1,
        }
    }

    /// The `RemoteMedia` a test expects, with the default 20 ms ptime.
    fn remote(addr: &str, codec: Codec, dtmf_pt: Option<u8>, direction: Direction) -> RemoteMedia {
        let addr = addr.parse().expect("test address");
        RemoteMedia {
            addr,
            codec,
            dtmf_pt,
            direction,
            ptime_ms: 20,
        }
    }

    fn local6() -> LocalMedia {
        LocalMedia {
            addr: IpAddr::V6("2001:db8::10".parse().unwrap()),
            port: 20002,
            session_id: 7,
            version: 3,
        }
    }

    #[test]
    fn offer_text_exact() {
        assert_eq!(
            offer(&local4()),
            "v=0\r\n\
             o=orderline 42 1 IN IP4 192.0.2.10\r\n\
             s=orderline\r\n\
             c=IN IP4 192.0.2.10\r\n\
             t=0 0\r\n\
             m=audio 20000 RTP/AVP 0 8 101\r\n\
             a=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\n\
             a=fmtp:101 0-16\r\n\
             a=ptime:20\r\n\
             a=sendrecv\r\n"
        );
    }

    #[test]
    fn offer_ipv6_and_hold() {
        let o = hold_offer(&local6(), Direction::SendOnly);
        assert!(o.starts_with("v=0\r\no=orderline 7 3 IN IP6 2001:db8::10\r\ns=orderline\r\nc=IN IP6 2001:db8::10\r\n"), "{o}");
        assert!(o.ends_with("a=ptime:20\r\na=sendonly\r\n"), "{o}");
        assert!(hold_offer(&local4(), Direction::Inactive).ends_with("a=inactive\r\n"));
        // Our own offer, read back as if it were an answer, gives what we said.
        let r = parse_answer(o.as_bytes()).unwrap();
        assert_eq!(r.addr, "[2001:db8::10]:20002".parse().unwrap());
        assert_eq!(
            (r.codec, r.dtmf_pt, r.direction, r.ptime_ms),
            (Codec::Pcmu, Some(101), Direction::SendOnly, 20)
        );
    }

    /// SIPp 3.6.1 `-sn uas` answers with this body (`sipp -sd uas`, variables filled in),
    /// trailing blank line included.
    const SIPP_UAS_ANSWER: &str = "v=0\r\n\
        o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
        s=-\r\n\
        c=IN IP4 127.0.0.1\r\n\
        t=0 0\r\n\
        m=audio 6000 RTP/AVP 0\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        \r\n";

    #[test]
    fn answer_from_sipp_uas() {
        let r = parse_answer(SIPP_UAS_ANSWER.as_bytes()).unwrap();
        assert_eq!(
            r,
            remote("127.0.0.1:6000", Codec::Pcmu, None, Direction::SendRecv)
        );
    }

    /// baresip-style answer: LF endings, media-level c=, PCMA first, telephone-event at our
    /// PT, rtcp attributes, ptime and an explicit sendrecv.
    const BARESIP_ANSWER: &str = "v=0\n\
        o=- 1839519209 3405293716 IN IP4 127.0.0.1\n\
        s=-\n\
        t=0 0\n\
        m=audio 10004 RTP/AVP 8 101\n\
        c=IN IP4 127.0.0.1\n\
        b=AS:64\n\
        a=rtpmap:8 PCMA/8000\n\
        a=rtpmap:101 telephone-event/8000\n\
        a=fmtp:101 0-15\n\
        a=rtcp:10005\n\
        a=sendrecv\n\
        a=label:1\n\
        a=ssrc:2251209113 cname:9b1e4f8d-b2bc-4d8f\n\
        a=rtcp-rsize\n\
        a=ptime:20\n";

    #[test]
    fn answer_from_baresip() {
        let r = parse_answer(BARESIP_ANSWER.as_bytes()).unwrap();
        assert_eq!(r.addr, "127.0.0.1:10004".parse().unwrap());
        assert_eq!(
            (r.codec, r.dtmf_pt, r.direction, r.ptime_ms),
            (Codec::Pcma, Some(101), Direction::SendRecv, 20)
        );
    }

    /// The offer baresip 1.0.0 (Debian `baresip-core`, modules g711, g722, opus) really sent
    /// in an INVITE to SIPp on 127.0.0.1, captured with `sipp -trace_msg`: 434 bytes, as its
    /// Content-Length said. Also in `fuzz/seeds/sdp_parse/`.
    const BARESIP_1_0_0_INVITE: &str = "v=0\r\n\
        o=- 2715575808 1043771266 IN IP4 127.0.0.1\r\n\
        s=-\r\n\
        c=IN IP4 127.0.0.1\r\n\
        t=0 0\r\n\
        a=tool:baresip 1.0.0\r\n\
        m=audio 15888 RTP/AVP 0 8 9 96 101\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:9 G722/8000\r\n\
        a=rtpmap:96 opus/48000/2\r\n\
        a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
        a=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\n\
        a=sendrecv\r\n\
        a=label:1\r\n\
        a=rtcp-rsize\r\n\
        a=ssrc:961007630 cname:sip:orderlinetest@127.0.0.1\r\n\
        a=minptime:20\r\n\
        a=ptime:20\r\n";

    #[test]
    fn answer_real_baresip_invite() {
        assert_eq!(BARESIP_1_0_0_INVITE.len(), 434);
        let (sdp, r) = answer(BARESIP_1_0_0_INVITE.as_bytes(), &local4()).unwrap();
        assert_eq!(
            r,
            remote(
                "127.0.0.1:15888",
                Codec::Pcmu,
                Some(101),
                Direction::SendRecv
            )
        );
        assert!(
            sdp.ends_with(
                "t=0 0\r\nm=audio 20000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
                 a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n\
                 a=sendrecv\r\n"
            ),
            "{sdp}"
        );
    }

    /// What baresip 1.0.0 (auto-answer) really answered to our exact `offer()` text sent by
    /// a SIPp UAC on 127.0.0.1 (captured with `-trace_msg`; Content-Length 339). baresip
    /// logged "Set audio encoder: PCMU".
    const BARESIP_1_0_0_ANSWER: &str = "v=0\r\n\
        o=- 2474204174 1362406618 IN IP4 127.0.0.1\r\n\
        s=-\r\n\
        c=IN IP4 127.0.0.1\r\n\
        t=0 0\r\n\
        a=tool:baresip 1.0.0\r\n\
        m=audio 15884 RTP/AVP 0 8 101\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\n\
        a=sendrecv\r\n\
        a=label:1\r\n\
        a=ssrc:3545643436 cname:sip:orderlinetest@127.0.0.1:15871\r\n\
        a=minptime:20\r\n\
        a=ptime:20\r\n";

    #[test]
    fn parse_real_baresip_answer() {
        assert_eq!(BARESIP_1_0_0_ANSWER.len(), 339);
        assert_eq!(
            parse_answer(BARESIP_1_0_0_ANSWER.as_bytes()),
            Ok(remote(
                "127.0.0.1:15884",
                Codec::Pcmu,
                Some(101),
                Direction::SendRecv
            ))
        );
    }

    /// A baresip-style offer as it calls us: several codecs, PCMU not first, G.722 first.
    const BARESIP_OFFER: &str = "v=0\r\n\
        o=- 2790071016 1462355282 IN IP4 127.0.0.1\r\n\
        s=-\r\n\
        c=IN IP4 127.0.0.1\r\n\
        t=0 0\r\n\
        m=audio 10000 RTP/AVP 9 8 0 96 97\r\n\
        b=AS:64\r\n\
        a=rtpmap:9 G722/8000\r\n\
        a=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:96 opus/48000/2\r\n\
        a=fmtp:96 stereo=1;sprop-stereo=1\r\n\
        a=rtpmap:97 telephone-event/8000\r\n\
        a=fmtp:97 0-15\r\n\
        a=rtcp-rsize\r\n\
        a=sendrecv\r\n\
        a=ptime:20\r\n";

    #[test]
    fn answer_baresip_offer_exact() {
        let (sdp, r) = answer(BARESIP_OFFER.as_bytes(), &local4()).unwrap();
        assert_eq!(
            sdp,
            "v=0\r\n\
             o=orderline 42 1 IN IP4 192.0.2.10\r\n\
             s=orderline\r\n\
             c=IN IP4 192.0.2.10\r\n\
             t=0 0\r\n\
             m=audio 20000 RTP/AVP 8 97\r\n\
             a=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:97 telephone-event/8000\r\n\
             a=fmtp:97 0-16\r\n\
             a=ptime:20\r\n\
             a=sendrecv\r\n"
        );
        assert_eq!(
            r,
            remote(
                "127.0.0.1:10000",
                Codec::Pcma,
                Some(97),
                Direction::SendRecv
            )
        );
        // Our answer is itself a valid answer for parse_answer.
        let back = parse_answer(sdp.as_bytes()).unwrap();
        assert_eq!(
            (back.codec, back.dtmf_pt, back.addr.port()),
            (Codec::Pcma, Some(97), 20000)
        );
    }

    fn offer_with(media: &str) -> String {
        format!("v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n{media}")
    }

    #[test]
    fn only_pcma_offered() {
        let o = offer_with("m=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n");
        let (sdp, r) = answer(o.as_bytes(), &local4()).unwrap();
        assert_eq!(r.codec, Codec::Pcma);
        assert_eq!(r.dtmf_pt, None);
        assert!(
            sdp.contains("m=audio 20000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\n"),
            "{sdp}"
        );
        assert!(!sdp.contains("telephone-event"));
    }

    #[test]
    fn only_g722_is_no_common_codec() {
        let o = offer_with("m=audio 4000 RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n");
        assert_eq!(
            answer(o.as_bytes(), &local4()),
            Err(SdpError::NoCommonCodec)
        );
        // A dynamic PT named PCMU is not taken (documented limitation).
        let o = offer_with("m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 PCMU/8000\r\n");
        assert_eq!(
            answer(o.as_bytes(), &local4()),
            Err(SdpError::NoCommonCodec)
        );
        // PT 0 remapped to something else is not PCMU.
        let o = offer_with("m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 G729/8000\r\n");
        assert_eq!(
            answer(o.as_bytes(), &local4()),
            Err(SdpError::NoCommonCodec)
        );
    }

    #[test]
    fn telephone_event_at_pt_96_any_case() {
        let o = offer_with("m=audio 4000 RTP/AVP 0 96\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:96 Telephone-Event/8000\r\na=fmtp:96 0-15\r\n");
        let (sdp, r) = answer(o.as_bytes(), &local4()).unwrap();
        assert_eq!(r.dtmf_pt, Some(96));
        assert!(sdp.contains("m=audio 20000 RTP/AVP 0 96\r\n"), "{sdp}");
        assert!(
            sdp.contains("a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"),
            "{sdp}"
        );
        // telephone-event at 48000 (for Opus) is not ours to use with G.711.
        let o = offer_with("m=audio 4000 RTP/AVP 0 110\r\na=rtpmap:110 telephone-event/48000\r\n");
        assert_eq!(answer(o.as_bytes(), &local4()).unwrap().1.dtmf_pt, None);
        // An rtpmap for a PT not in the m-line is not used.
        let o = offer_with("m=audio 4000 RTP/AVP 0\r\na=rtpmap:101 telephone-event/8000\r\n");
        assert_eq!(answer(o.as_bytes(), &local4()).unwrap().1.dtmf_pt, None);
    }

    #[test]
    fn hold_variants() {
        let cases = [
            ("a=sendonly\r\n", Direction::SendOnly, "a=recvonly\r\n"),
            ("a=recvonly\r\n", Direction::RecvOnly, "a=sendonly\r\n"),
            ("a=inactive\r\n", Direction::Inactive, "a=inactive\r\n"),
            ("a=sendrecv\r\n", Direction::SendRecv, "a=sendrecv\r\n"),
            ("", Direction::SendRecv, "a=sendrecv\r\n"),
        ];
        for (attr, remote_dir, our_attr) in cases {
            let o = offer_with(&format!("m=audio 4000 RTP/AVP 0\r\n{attr}"));
            let (sdp, r) = answer(o.as_bytes(), &local4()).unwrap();
            assert_eq!(r.direction, remote_dir, "{attr}");
            assert!(sdp.ends_with(our_attr), "{attr}: {sdp}");
        }
        // Session-level direction applies when the media has none; media level wins.
        let o = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(
            answer(o.as_bytes(), &local4()).unwrap().1.direction,
            Direction::SendOnly
        );
        let o = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
        assert_eq!(
            answer(o.as_bytes(), &local4()).unwrap().1.direction,
            Direction::SendRecv
        );
        // RFC 2543 hold: c=0.0.0.0 → inactive, answered inactive.
        let o = "v=0\r\no=- 1 2 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\n";
        let (sdp, r) = answer(o.as_bytes(), &local4()).unwrap();
        assert_eq!(r.direction, Direction::Inactive);
        assert_eq!(r.addr, "0.0.0.0:4000".parse().unwrap());
        assert!(sdp.ends_with("a=inactive\r\n"));
        let r = parse_answer(b"v=0\r\nc=IN IP6 ::\r\nm=audio 4000 RTP/AVP 8\r\na=sendrecv\r\n")
            .unwrap();
        assert_eq!(r.direction, Direction::Inactive);
        // Two different directions in one section are malformed.
        let o = offer_with("m=audio 4000 RTP/AVP 0\r\na=sendonly\r\na=recvonly\r\n");
        assert_eq!(
            answer(o.as_bytes(), &local4()),
            Err(SdpError::BadAttribute {
                line: 8,
                name: "direction"
            })
        );
    }

    #[test]
    fn ipv6_offer_answered() {
        let o = "v=0\r\no=- 1 1 IN IP6 2001:db8::7\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP6 2001:db8::7\r\n";
        let (sdp, r) = answer(o.as_bytes(), &local6()).unwrap();
        assert_eq!(r.addr, "[2001:db8::7]:4000".parse().unwrap());
        assert!(sdp.contains("c=IN IP6 2001:db8::10\r\n"));
        assert!(sdp.contains("m=audio 20002 RTP/AVP 0\r\n"));
    }

    #[test]
    fn media_level_c_overrides_session() {
        let o = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2/127\r\n";
        assert_eq!(
            parse_answer(o.as_bytes()).unwrap().addr,
            "10.0.0.2:4000".parse().unwrap()
        );
    }

    #[test]
    fn other_m_lines_rejected_in_order() {
        let o = offer_with(
            "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
             m=audio 0 RTP/AVP 0\r\n\
             m=audio 4000 RTP/SAVP 0\r\n\
             m=audio 4002 RTP/AVP 0 8\r\n\
             m=audio 4004 RTP/AVP 0\r\n",
        );
        let (sdp, r) = answer(o.as_bytes(), &local4()).unwrap();
        assert_eq!(r.addr.port(), 4002);
        let m_lines: Vec<&str> = sdp.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(
            m_lines,
            [
                "m=video 0 RTP/AVP 96",
                "m=audio 0 RTP/AVP 0",
                "m=audio 0 RTP/SAVP 0",
                "m=audio 20000 RTP/AVP 0",
                "m=audio 0 RTP/AVP 0",
            ]
        );
    }

    #[test]
    fn offer_errors() {
        let e = |s: &str| answer(s.as_bytes(), &local4()).unwrap_err();
        assert_eq!(
            e(&offer_with("m=video 5000 RTP/AVP 96\r\n")),
            SdpError::NoAudioStream
        );
        assert_eq!(e(&offer_with("")), SdpError::NoAudioStream);
        assert_eq!(
            e(&offer_with("m=audio 0 RTP/AVP 0\r\n")),
            SdpError::StreamRejected
        );
        assert_eq!(
            e(&offer_with("m=audio 4000 RTP/SAVP 0\r\n")),
            SdpError::UnsupportedTransport
        );
        assert_eq!(
            e(&offer_with("m=audio 4000 UDP/TLS/RTP/SAVPF 0\r\n")),
            SdpError::UnsupportedTransport
        );
        assert_eq!(
            e(&offer_with("m=audio 70000 RTP/AVP 0\r\n")),
            SdpError::BadPort { line: 6 }
        );
        assert_eq!(
            e(&offer_with("m=audio -1 RTP/AVP 0\r\n")),
            SdpError::BadPort { line: 6 }
        );
        assert_eq!(
            e(&offer_with("m=audio 4000 RTP/AVP\r\n")),
            SdpError::BadMediaLine {
                line: 6,
                reason: "no media formats"
            }
        );
        assert_eq!(
            e(&offer_with("m=audio 4000 RTP/AVP 0 x\r\n")),
            SdpError::BadMediaLine {
                line: 6,
                reason: "RTP payload type is not 0..=127"
            }
        );
        assert_eq!(
            e(&offer_with("m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n")),
            SdpError::BadAttribute {
                line: 7,
                name: "rtpmap"
            }
        );
        assert_eq!(
            e(&offer_with("m=audio 4000 RTP/AVP 0\r\na=ptime:abc\r\n")),
            SdpError::BadAttribute {
                line: 7,
                name: "ptime"
            }
        );
        assert_eq!(
            e("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"),
            SdpError::MissingConnection
        );
        let bad_c = [
            (
                "c=IN IP4 sip.example.com",
                "address is not an IP literal (host names are not resolved)",
            ),
            (
                "c=IN IP6 1.2.3.4",
                "address does not match its address type",
            ),
            ("c=IN IP4 224.2.1.1/127", "multicast is not supported"),
            ("c=IN IP4", "expected: IN <IP4|IP6> <address>"),
            ("c=ATM NSAP 47.0005", "network type is not IN"),
            ("c=IN IPX 1.2.3.4", "address type is not IP4 or IP6"),
        ];
        for (c, reason) in bad_c {
            let o = format!("v=0\r\n{c}\r\nm=audio 4000 RTP/AVP 0\r\n");
            assert_eq!(e(&o), SdpError::BadConnection { line: 2, reason }, "{c}");
        }
        assert_eq!(e(""), SdpError::Empty);
        assert_eq!(e("\r\n\r\n"), SdpError::Empty);
        assert_eq!(e("v=1\r\n"), SdpError::BadVersion);
        assert_eq!(e("o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n"), SdpError::BadVersion);
        assert_eq!(
            e("v=0\r\nthis is not sdp\r\n"),
            SdpError::MalformedLine { line: 2 }
        );
        assert_eq!(
            e("v=0\r\nM=audio 1 RTP/AVP 0\r\n"),
            SdpError::MalformedLine { line: 2 }
        );
        assert_eq!(e(&"v=0\r\n".repeat(MAX_SDP_LEN)), SdpError::TooLarge);
    }

    #[test]
    fn non_utf8_is_an_error_not_a_panic() {
        let mut o =
            b"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 \xff\r\n".to_vec();
        assert_eq!(parse_answer(&o), Err(SdpError::MalformedLine { line: 4 }));
        // s= in another charset and a= with junk are ignored.
        o = b"v=0\r\ns=\xe9t\xe9\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=tool:\xff\r\n"
            .to_vec();
        assert_eq!(parse_answer(&o).unwrap().codec, Codec::Pcmu);
    }

    #[test]
    fn answer_errors() {
        assert_eq!(
            parse_answer(offer_with("m=audio 0 RTP/AVP 0\r\n").as_bytes()),
            Err(SdpError::StreamRejected)
        );
        assert_eq!(
            parse_answer(offer_with("m=audio 4000 RTP/AVP 18\r\n").as_bytes()),
            Err(SdpError::CodecNotOffered)
        );
        assert_eq!(
            parse_answer(offer_with("m=video 4000 RTP/AVP 0\r\n").as_bytes()),
            Err(SdpError::NoAudioStream)
        );
        assert_eq!(
            parse_answer(offer_with("").as_bytes()),
            Err(SdpError::NoAudioStream)
        );
        assert_eq!(
            parse_answer(offer_with("m=audio 4000 RTP/SAVP 0\r\n").as_bytes()),
            Err(SdpError::UnsupportedTransport)
        );
        // Codec in the answer's order, ignoring PTs we did not offer.
        let r = parse_answer(offer_with("m=audio 4000 RTP/AVP 18 8 0\r\n").as_bytes()).unwrap();
        assert_eq!(r.codec, Codec::Pcma);
    }

    #[test]
    fn ptime_handling() {
        let p = |a: &str| {
            parse_answer(offer_with(&format!("m=audio 4000 RTP/AVP 0\r\n{a}")).as_bytes())
                .map(|r| r.ptime_ms)
        };
        assert_eq!(p(""), Ok(20));
        assert_eq!(p("a=ptime:30\r\n"), Ok(30));
        assert_eq!(p("a=ptime:20.0\r\n"), Ok(20));
        assert_eq!(p("a=ptime:1\r\n"), Ok(10));
        assert_eq!(
            p("a=ptime:4294967295\r\n"),
            Err(SdpError::BadAttribute {
                line: 7,
                name: "ptime"
            })
        );
        assert_eq!(p("a=ptime:999999999\r\n"), Ok(200));
        assert_eq!(
            p("a=ptime:\r\n"),
            Err(SdpError::BadAttribute {
                line: 7,
                name: "ptime"
            })
        );
        assert_eq!(
            p("a=ptime\r\n"),
            Err(SdpError::BadAttribute {
                line: 7,
                name: "ptime"
            })
        );
    }

    /// Every prefix and every single-byte corruption of real bodies gives a value or an
    /// error, never a panic (the fuzzer does this at scale; this keeps it in `cargo test`).
    #[test]
    fn prefixes_and_byte_flips_never_panic() {
        for body in [BARESIP_OFFER, BARESIP_ANSWER, SIPP_UAS_ANSWER] {
            let b = body.as_bytes();
            for cut in 0..=b.len() {
                let _ = parse_answer(&b[..cut]);
                let _ = answer(&b[..cut], &local4());
            }
            for i in 0..b.len() {
                for x in [0x00, b'\n', b' ', b'0', 0xff] {
                    let mut m = b.to_vec();
                    m[i] = x;
                    let _ = parse_answer(&m);
                    let _ = answer(&m, &local6());
                }
            }
        }
    }

    #[test]
    fn echoes_offer_timing() {
        let o = "v=0\r\nc=IN IP4 1.2.3.4\r\nt=3034423619 3042462419\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert!(answer(o.as_bytes(), &local4())
            .unwrap()
            .0
            .contains("\r\nt=3034423619 3042462419\r\n"));
        let o = "v=0\r\nc=IN IP4 1.2.3.4\r\nt=junk\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert!(answer(o.as_bytes(), &local4())
            .unwrap()
            .0
            .contains("\r\nt=0 0\r\n"));
    }
}
