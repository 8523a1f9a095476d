//! SDP syntax (RFC 4566): lines, `c=`, `m=`, attributes and `rtpmap`, borrowed from
//! the body; no meaning is given to them here (that is `offer_answer`).

use std::net::IpAddr;

use super::*;

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

/// A `c=` line: its address (TTL and count stripped) and where it was.
#[derive(Clone, Copy)]
pub(super) struct Conn {
    pub(super) ip: IpAddr,
}

/// An attribute line `a=name[:value]`.
pub(super) struct Attr<'a> {
    pub(super) line: usize,
    pub(super) name: &'a str,
    pub(super) value: Option<&'a str>,
}

/// One media section (RFC 4566 §5.14 and the lines after it).
pub(super) struct Media<'a> {
    pub(super) line: usize,
    pub(super) kind: &'a str,
    pub(super) port: u16,
    pub(super) proto: &'a str,
    pub(super) fmts: Vec<&'a str>,
    pub(super) conn: Option<Result<Conn, SdpError>>,
    pub(super) attrs: Vec<Attr<'a>>,
}

/// A parsed SDP body: only what offer/answer needs.
pub(super) struct Sdp<'a> {
    pub(super) timing: Option<&'a str>,
    pub(super) conn: Option<Result<Conn, SdpError>>,
    pub(super) attrs: Vec<Attr<'a>>,
    pub(super) media: Vec<Media<'a>>,
}

/// Whether a token from the peer can be echoed into our SDP unchanged.
pub(super) fn is_sdp_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

/// `c=IN IP4 192.0.2.1` / `c=IN IP6 2001:db8::1`, optionally `/ttl[/count]` (RFC 4566 §5.7).
pub(super) fn parse_connection(value: &str, line: usize) -> Result<Conn, SdpError> {
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
pub(super) fn parse_media_line(value: &str, line: usize) -> Result<Media<'_>, SdpError> {
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
pub(super) fn parse(sdp: &[u8]) -> Result<Sdp<'_>, SdpError> {
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
pub(super) struct RtpMap<'a> {
    pub(super) pt: u8,
    pub(super) encoding: &'a str,
    pub(super) rate: u32,
}

pub(super) fn parse_rtpmap<'a>(a: &Attr<'a>) -> Result<RtpMap<'a>, SdpError> {
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
