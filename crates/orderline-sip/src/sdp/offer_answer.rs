//! Offer/answer (RFC 3264): writing our offer, reading an answer, answering an offer.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::syntax::*;
use super::*;

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
///
/// With [`LocalMedia::srtp`], an `a=crypto:1` line carries our key, and the
/// profile is `RTP/SAVP` when SRTP is required (RFC 4568 §7.1.1).
#[must_use]
pub fn hold_offer(local: &LocalMedia, direction: Direction) -> String {
    let mut out = String::with_capacity(400);
    session_head(&mut out, local, "0 0");
    let proto = match local.srtp {
        Some(o) if o.required => "RTP/SAVP",
        _ => "RTP/AVP",
    };
    let _ = write!(
        out,
        "m=audio {port} {proto} 0 8 {dtmf}\r\n\
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
    if let Some(o) = local.srtp {
        out.push_str(&sdes::crypto_line(1, &o.key));
    }
    out
}

/// Our initial offer (sendrecv); see [`hold_offer`] for the exact text.
#[must_use]
pub fn offer(local: &LocalMedia) -> String {
    hold_offer(local, Direction::SendRecv)
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

fn is_audio_savp(m: &Media<'_>) -> bool {
    m.kind == "audio" && m.proto.eq_ignore_ascii_case("RTP/SAVP")
}

/// Hold an answer to what our offer asked (RFC 4568 §7.1.3): a key we did
/// not offer for is dropped; a required SRTP that was not agreed is
/// [`SdpError::SrtpRequired`].
pub fn check_srtp(local: &LocalMedia, mut remote: RemoteMedia) -> Result<RemoteMedia, SdpError> {
    match local.srtp {
        None => remote.srtp = None,
        Some(o) if o.required && remote.srtp.is_none() => return Err(SdpError::SrtpRequired),
        Some(_) => {}
    }
    Ok(remote)
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
    // RTP/SAVP answers our SRTP offer, and must then carry its key.
    let crypto = sdes::pick(&m.attrs);
    if !(is_audio_avp(m) || (is_audio_savp(m) && crypto.is_some())) {
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
        srtp: crypto.map(|c| c.key),
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
///
/// SDES (RFC 4568 §7.1.2), with [`LocalMedia::srtp`]: `RTP/SAVP` becomes
/// acceptable; the first usable `a=crypto` of the chosen section is taken
/// and answered with its tag and our key, in the offer's profile. When SRTP
/// is required, a section without one is passed over
/// ([`SdpError::SrtpRequired`] if nothing else is left).
pub fn answer(offer: &[u8], local: &LocalMedia) -> Result<(String, RemoteMedia), SdpError> {
    let parsed = parse(offer)?;
    let mut chosen: Option<(usize, Negotiated, Codec, Option<sdes::PeerCrypto>)> = None;
    let mut saw = Saw::default();
    for (i, m) in parsed.media.iter().enumerate() {
        if m.kind != "audio" {
            continue;
        }
        saw.audio = true;
        if m.port == 0 {
            continue;
        }
        let crypto = local.srtp.and_then(|_| sdes::pick(&m.attrs));
        let secure_ok = is_audio_savp(m) && crypto.is_some();
        if !(is_audio_avp(m) || secure_ok) {
            saw.other_transport = true;
            continue;
        }
        if local.srtp.is_some_and(|o| o.required) && crypto.is_none() {
            saw.srtp_missing = true;
            continue;
        }
        saw.avp = true;
        let n = interpret(&parsed, m)?;
        if let Some(codec) = n.codec {
            chosen = Some((i, n, codec, crypto));
            break;
        }
    }
    let Some((chosen_idx, n, codec, crypto)) = chosen else {
        return Err(if saw.srtp_missing && !saw.avp {
            SdpError::SrtpRequired
        } else if saw.avp {
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
            let proto = if crypto.is_some() && is_audio_savp(m) {
                "RTP/SAVP"
            } else {
                "RTP/AVP"
            };
            let _ = write!(out, "m=audio {} {proto} {pt}", local.port);
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
            if let (Some(c), Some(o)) = (crypto, local.srtp) {
                out.push_str(&sdes::crypto_line(c.tag, &o.key));
            }
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
        srtp: crypto.map(|c| c.key),
    };
    Ok((out, remote))
}

/// What [`answer`] saw while looking for a usable stream, to name the right error.
#[derive(Default)]
struct Saw {
    audio: bool,
    avp: bool,
    other_transport: bool,
    /// A usable stream passed over for want of `a=crypto` (SRTP required).
    srtp_missing: bool,
}
