//! Typed header values (RFC 3261 §20, grammar §25.1): name-addr (From, To,
//! Contact, Route, Record-Route), Via, CSeq, token lists, and the list
//! splitting rules for several values on one line (§7.3.1).

use std::fmt;

use super::error::ParseError;
use super::uri::{parse_hostport, Uri};

/// Generic parameters `*( SEMI name [EQUAL value] )`, values as received.
pub type Params = Vec<(String, Option<String>)>;

/// RFC 3261 §25.1 `token` characters.
pub fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c)
}

pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// Index just after the closing quote of a quoted-string starting at `s[0] == '"'`.
fn quoted_end(s: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Split on `sep` outside quoted strings and `<...>` (§7.3.1 comma lists).
pub fn split_top(s: &str, sep: u8) -> Result<Vec<&str>, &'static str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i, mut angle) = (0, 0, false);
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += quoted_end(&b[i..]).ok_or("unterminated quoted string")?;
                continue;
            }
            b'<' => angle = true,
            b'>' => angle = false,
            c if c == sep && !angle => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if angle {
        return Err("unterminated <");
    }
    out.push(&s[start..]);
    Ok(out)
}

/// Parse `;name[=value]` generic parameters (text after the first `;`).
/// Linear white space around `;` and `=` is allowed (RFC 4475 §3.1.1.1).
pub fn parse_params(parts: &[&str], name: &'static str) -> Result<Params, ParseError> {
    let mut out = Vec::new();
    for p in parts {
        let (n, v) = match p.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (p.trim(), None),
        };
        if !is_token(n) {
            return Err(ParseError::Header {
                name,
                why: "empty or invalid parameter",
            });
        }
        if let Some(v) = v {
            let ok = if v.starts_with('"') {
                quoted_end(v.as_bytes()) == Some(v.len())
            } else {
                !v.is_empty() && v.bytes().all(|c| is_token_char(c) || b"[]:".contains(&c))
            };
            if !ok {
                return Err(ParseError::Header {
                    name,
                    why: "invalid parameter value",
                });
            }
        }
        out.push((n.to_string(), v.map(str::to_string)));
    }
    Ok(out)
}

fn find_param<'a>(p: &'a Params, name: &str) -> Option<Option<&'a str>> {
    p.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

fn write_params(f: &mut fmt::Formatter<'_>, p: &Params) -> fmt::Result {
    for (n, v) in p {
        match v {
            Some(v) => write!(f, ";{n}={v}")?,
            None => write!(f, ";{n}")?,
        }
    }
    Ok(())
}

/// `name-addr / addr-spec` with header parameters (From, To, Contact, Route...).
#[derive(Debug, Clone)]
pub struct NameAddr {
    /// Display name as written (a quoted-string keeps its quotes).
    pub display: Option<String>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Vec::new(),
        }
    }

    /// Parse one value; `name` names the header in errors.
    pub fn parse(s: &str, name: &'static str) -> Result<NameAddr, ParseError> {
        let e = |why| ParseError::Header { name, why };
        let s = s.trim();
        let (display, after_lt) = if s.starts_with('"') {
            let end = quoted_end(s.as_bytes()).ok_or(e("unterminated quoted string"))?;
            let rest = s[end..].trim_start();
            let rest = rest
                .strip_prefix('<')
                .ok_or(e("display name not followed by <"))?;
            (Some(s[..end].to_string()), Some(rest))
        } else if let Some(lt) = s.find('<') {
            let d = s[..lt].trim();
            if !d.split_ascii_whitespace().all(is_token) {
                return Err(e("display name is neither token nor quoted string"));
            }
            ((!d.is_empty()).then(|| d.to_string()), Some(&s[lt + 1..]))
        } else {
            (None, None)
        };
        let (uri_s, rest) = match after_lt {
            Some(r) => {
                let gt = r.find('>').ok_or(e("missing >"))?;
                (&r[..gt], &r[gt + 1..])
            }
            None => {
                let semi = s.find(';').unwrap_or(s.len());
                let u = s[..semi].trim_end();
                if u.contains('?') || u.contains(',') {
                    return Err(e("URI with headers or comma must be in <>"));
                }
                (u, &s[semi..])
            }
        };
        let uri = Uri::parse(uri_s).map_err(|_| e("invalid URI"))?;
        let rest = rest.trim();
        let params = if rest.is_empty() {
            Vec::new()
        } else {
            let r = rest.strip_prefix(';').ok_or(e("junk after URI"))?;
            let parts = split_top(r, b';').map_err(e)?;
            parse_params(&parts, name)?
        };
        Ok(NameAddr {
            display,
            uri,
            params,
        })
    }

    /// Parse a comma-separated list of values (Contact, Route, Record-Route).
    pub fn parse_list(s: &str, name: &'static str) -> Result<Vec<NameAddr>, ParseError> {
        split_top(s, b',')
            .map_err(|why| ParseError::Header { name, why })?
            .into_iter()
            .map(|v| NameAddr::parse(v, name))
            .collect()
    }

    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        find_param(&self.params, "tag").flatten()
    }

    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    pub fn set_tag(&mut self, tag: &str) {
        self.params.retain(|(n, _)| !n.eq_ignore_ascii_case("tag"));
        self.params.push(("tag".into(), Some(tag.into())));
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{d} ")?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

/// One Via value (RFC 3261 §20.42, §18.2.1; rport RFC 3581).
#[derive(Debug, Clone)]
pub struct Via {
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

/// RFC 3261 §8.1.1.7 magic cookie.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

impl Via {
    /// Parse one Via header line (possibly several comma-separated values).
    pub fn parse_list(s: &str) -> Result<Vec<Via>, ParseError> {
        let e = |why| ParseError::Header { name: "Via", why };
        split_top(s, b',')
            .map_err(e)?
            .into_iter()
            .map(Via::parse_one)
            .collect()
    }

    fn parse_one(s: &str) -> Result<Via, ParseError> {
        let e = |why| ParseError::Header { name: "Via", why };
        let parts = split_top(s, b';').map_err(e)?;
        let head = parts.first().copied().unwrap_or("").trim();
        let (proto, rest) = head.split_once('/').ok_or(e("missing protocol"))?;
        let (ver, rest) = rest.split_once('/').ok_or(e("missing version"))?;
        if !proto.trim().eq_ignore_ascii_case("SIP") || ver.trim() != "2.0" {
            return Err(e("protocol is not SIP/2.0"));
        }
        let rest = rest.trim_start();
        let tend = rest
            .find(|c: char| c.is_ascii_whitespace())
            .ok_or(e("missing sent-by"))?;
        let transport = &rest[..tend];
        if !is_token(transport) {
            return Err(e("invalid transport"));
        }
        let sent_by = rest[tend..].trim();
        let (host, port) = parse_hostport(sent_by).map_err(|_| e("invalid sent-by"))?;
        let params = parse_params(&parts[1..], "Via")?;
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    pub fn branch(&self) -> Option<&str> {
        find_param(&self.params, "branch").flatten()
    }

    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// `sent-by` as printed, for transaction matching (§17.2.3).
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host.to_ascii_lowercase()),
            None => self.host.to_ascii_lowercase(),
        }
    }

    /// Set `received` and fill a flag `rport` (RFC 3261 §18.2.1, RFC 3581 §4).
    pub fn stamp_source(&mut self, src: std::net::SocketAddr) {
        let ip = src.ip().to_string();
        if self.host != ip {
            self.params
                .retain(|(n, _)| !n.eq_ignore_ascii_case("received"));
            self.params.push(("received".into(), Some(ip)));
        }
        for (n, v) in self.params.iter_mut() {
            if n.eq_ignore_ascii_case("rport") && v.is_none() {
                *v = Some(src.port().to_string());
            }
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)
    }
}

/// CSeq (RFC 3261 §20.16): number below 2**31 and the method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: String,
}

impl CSeq {
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        let e = |why| ParseError::Header { name: "CSeq", why };
        let mut it = s.split_ascii_whitespace();
        let (n, m) = (
            it.next().ok_or(e("empty"))?,
            it.next().ok_or(e("missing method"))?,
        );
        if it.next().is_some() {
            return Err(e("junk after method"));
        }
        if n.is_empty() || n.len() > 10 || !n.bytes().all(|c| c.is_ascii_digit()) {
            return Err(e("sequence number is not a 32-bit integer"));
        }
        let seq: u32 = n.parse().map_err(|_| e("sequence number too large"))?;
        if seq >= 1 << 31 {
            return Err(e("sequence number must be below 2**31"));
        }
        if !is_token(m) {
            return Err(e("invalid method"));
        }
        Ok(CSeq {
            seq,
            method: m.to_string(),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// A comma-separated list of tokens (Require, Proxy-Require, Supported, Allow).
pub fn parse_token_list(s: &str, name: &'static str) -> Result<Vec<String>, ParseError> {
    let mut out = Vec::new();
    for t in s.split(',') {
        let t = t.trim();
        if !is_token(t) {
            return Err(ParseError::Header {
                name,
                why: "invalid option tag",
            });
        }
        out.push(t.to_string());
    }
    Ok(out)
}

/// An unsigned decimal scalar with an upper bound (Max-Forwards, Expires).
pub fn parse_scalar(s: &str, max: u64, name: &'static str) -> Result<u64, ParseError> {
    let s = s.trim();
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ParseError::Header {
            name,
            why: "not a decimal number",
        });
    }
    match s.parse::<u64>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(ParseError::Header {
            name,
            why: "value out of range",
        }),
    }
}

/// Canonical name of a header (compact forms of RFC 3261 §7.3.3 expanded).
pub fn canonical_name(name: &str) -> String {
    const KNOWN: &[&str] = &[
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Max-Forwards",
        "Content-Length",
        "Content-Type",
        "Content-Encoding",
        "Require",
        "Proxy-Require",
        "Supported",
        "Unsupported",
        "Route",
        "Record-Route",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Authorization",
        "Proxy-Authorization",
        "Allow",
        "Accept",
        "Subject",
        "Expires",
        "User-Agent",
        "Server",
        "Event",
        "Refer-To",
        "Session-Expires",
        "Min-SE",
    ];
    if name.len() == 1 {
        let full = match name.as_bytes()[0].to_ascii_lowercase() {
            b'v' => Some("Via"),
            b'f' => Some("From"),
            b't' => Some("To"),
            b'i' => Some("Call-ID"),
            b'm' => Some("Contact"),
            b'l' => Some("Content-Length"),
            b'c' => Some("Content-Type"),
            b'k' => Some("Supported"),
            b's' => Some("Subject"),
            b'e' => Some("Content-Encoding"),
            b'o' => Some("Event"),
            b'r' => Some("Refer-To"),
            b'x' => Some("Session-Expires"),
            _ => None,
        };
        if let Some(f) = full {
            return f.to_string();
        }
    }
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map(|k| k.to_string())
        .unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_addr_forms() {
        let n = NameAddr::parse(
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>  ;  tag = 98asjd8",
            "From",
        )
        .unwrap();
        assert_eq!(n.tag(), Some("98asjd8"));
        let n = NameAddr::parse("sip:+1650@ss1.example.net;user=phone", "To").unwrap();
        assert_eq!(n.param("user"), Some(Some("phone")));
        assert!(NameAddr::parse("caller<sip:caller@example.com>;tag=323", "From").is_ok());
        assert!(NameAddr::parse("\"Mr. J. User <sip:j.user@example.com>", "To").is_err());
        assert!(NameAddr::parse("\"Watson, Thomas\" < sip:t.watson@example.org >", "To").is_err());
        assert!(
            NameAddr::parse("Bell, Alexander <sip:a.g.bell@example.com>;tag=43", "From").is_err()
        );
        assert!(NameAddr::parse(
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "Contact"
        )
        .is_err());
        assert!(NameAddr::parse("\"Joe\" <sip:joe@example.org>;;;;", "Contact").is_err());
    }

    #[test]
    fn via_with_lws() {
        let v = Via::parse_list("SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8  , SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(v[1].host, "192.168.255.111");
        assert!(Via::parse_list("SIP/2.0/UDP 192.0.2.15;;,;,,").is_err());
        assert!(Via::parse_list("SIP/2.0//TCP host").is_err());
    }

    #[test]
    fn cseq_bounds() {
        assert_eq!(CSeq::parse("0009 INVITE").unwrap().seq, 9);
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_err());
        assert!(CSeq::parse("2147483648 INVITE").is_err());
    }
}
