//! SIP and other URIs (RFC 3261 §19.1, §25.1).
//!
//! Strings are stored exactly as received (escaped form), so printing a URI
//! never changes it; comparison (§19.1.4) works on the unescaped form.

use std::fmt;

use super::error::ParseError;

/// A URI as it appears in a Request-Line or a name-addr.
#[derive(Debug, Clone)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// Any other absoluteURI (RFC 3261 §25.1), kept opaque.
    Other { scheme: String, rest: String },
}

/// A `sip:`/`sips:` URI. Components keep their `%`-escapes.
#[derive(Debug, Clone)]
pub struct SipUri {
    pub secure: bool,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub params: Vec<(String, Option<String>)>,
    pub headers: Vec<(String, String)>,
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

/// Check every `%` starts a valid `%HH` escape and other bytes are in `extra`.
fn check_chars(s: &str, extra: &[u8], what: &'static str) -> Result<(), ParseError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return Err(ParseError::Uri(what));
            }
            i += 3;
            continue;
        }
        if !(is_unreserved(b[i]) || extra.contains(&b[i])) {
            return Err(ParseError::Uri(what));
        }
        i += 1;
    }
    Ok(())
}

/// Decode `%HH` escapes (RFC 3261 §19.1.2); invalid escapes are kept literally.
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn is_scheme(s: &str) -> bool {
    let mut it = s.bytes();
    matches!(it.next(), Some(c) if c.is_ascii_alphabetic())
        && it.all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
}

/// RFC 3261 §25.1 hostname / IPv4address / IPv6reference.
pub fn valid_host(h: &str) -> bool {
    if let Some(inner) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !h.is_empty()
        && h.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
        && !h.starts_with('.')
        && !h.starts_with('-')
}

/// Parse `host[:port]`.
pub fn parse_hostport(s: &str) -> Result<(String, Option<u16>), ParseError> {
    let (host, port) = if s.starts_with('[') {
        let end = s
            .find(']')
            .ok_or(ParseError::Uri("unterminated IPv6 reference"))?;
        let rest = &s[end + 1..];
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p),
            None if rest.is_empty() => None,
            None => return Err(ParseError::Uri("junk after IPv6 reference")),
        };
        (&s[..=end], port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if !valid_host(host) {
        return Err(ParseError::Uri("invalid host"));
    }
    let port = match port {
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit()) => Some(
            p.parse::<u16>()
                .map_err(|_| ParseError::Uri("port out of range"))?,
        ),
        Some(_) => return Err(ParseError::Uri("invalid port")),
        None => None,
    };
    Ok((host.to_string(), port))
}

impl Uri {
    /// Parse an absolute URI; `sip`/`sips` get the full §19.1 grammar.
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        if s.is_empty()
            || s.bytes()
                .any(|c| c <= b' ' || c >= 0x7f || c == b'<' || c == b'>' || c == b'"')
        {
            return Err(ParseError::Uri("illegal character"));
        }
        let (scheme, rest) = s.split_once(':').ok_or(ParseError::Uri("no scheme"))?;
        if !is_scheme(scheme) {
            return Err(ParseError::Uri("invalid scheme"));
        }
        let lower = scheme.to_ascii_lowercase();
        if lower == "sip" || lower == "sips" {
            SipUri::parse_rest(lower == "sips", rest).map(Uri::Sip)
        } else if rest.is_empty() {
            Err(ParseError::Uri("empty URI"))
        } else {
            Ok(Uri::Other {
                scheme: scheme.to_string(),
                rest: rest.to_string(),
            })
        }
    }

    /// The scheme, lower-case.
    pub fn scheme(&self) -> String {
        match self {
            Uri::Sip(u) if u.secure => "sips".into(),
            Uri::Sip(_) => "sip".into(),
            Uri::Other { scheme, .. } => scheme.to_ascii_lowercase(),
        }
    }

    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            Uri::Other { .. } => None,
        }
    }
}

impl SipUri {
    fn parse_rest(secure: bool, rest: &str) -> Result<SipUri, ParseError> {
        // '@' is legal neither in params, headers nor host: the first one ends userinfo.
        let (userinfo, hostpart) = match rest.find('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            Some(ui) => {
                let (u, p) = match ui.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (ui, None),
                };
                if u.is_empty() {
                    return Err(ParseError::Uri("empty user"));
                }
                check_chars(u, b"&=+$,;?/", "invalid character in user")?;
                if let Some(p) = p {
                    check_chars(p, b"&=+$,", "invalid character in password")?;
                }
                (Some(u.to_string()), p.map(str::to_string))
            }
            None => (None, None),
        };
        let (before_q, headers_s) = match hostpart.split_once('?') {
            Some((a, b)) => (a, Some(b)),
            None => (hostpart, None),
        };
        let mut parts = before_q.split(';');
        let hp = parts.next().unwrap_or("");
        let (host, port) = parse_hostport(hp)?;
        let mut params = Vec::new();
        for p in parts {
            if p.is_empty() {
                return Err(ParseError::Uri("empty parameter"));
            }
            let (n, v) = match p.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (p, None),
            };
            if n.is_empty() {
                return Err(ParseError::Uri("empty parameter name"));
            }
            check_chars(n, b"[]/:&+$", "invalid parameter")?;
            if let Some(v) = v {
                check_chars(v, b"[]/:&+$", "invalid parameter value")?;
            }
            params.push((n.to_string(), v.map(str::to_string)));
        }
        let mut headers = Vec::new();
        if let Some(hs) = headers_s {
            for h in hs.split('&') {
                let (n, v) = h
                    .split_once('=')
                    .ok_or(ParseError::Uri("header without ="))?;
                if n.is_empty() {
                    return Err(ParseError::Uri("empty header name"));
                }
                check_chars(n, b"[]/?:+$", "invalid header name")?;
                check_chars(v, b"[]/?:+$", "invalid header value")?;
                headers.push((n.to_string(), v.to_string()));
            }
        }
        Ok(SipUri {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// A plain `sip:user@host:port` URI.
    pub fn new(user: Option<&str>, host: &str, port: Option<u16>) -> SipUri {
        SipUri {
            secure: false,
            user: user.map(str::to_string),
            password: None,
            host: host.to_string(),
            port,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// The user part with `%`-escapes decoded (§19.1.2).
    pub fn user_unescaped(&self) -> Option<Vec<u8>> {
        self.user.as_deref().map(unescape)
    }

    /// Value of a URI parameter, `Some(None)` for a flag parameter.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// URI comparison of RFC 3261 §19.1.4: unescaped, case rules per part,
    /// the parameters `user`, `ttl`, `method`, `maddr`, `transport` must
    /// match if present in either; other parameters only if present in both.
    pub fn equivalent(&self, o: &SipUri) -> bool {
        let low = |s: &str| unescape(s).to_ascii_lowercase();
        if self.secure != o.secure
            || self.user_unescaped() != o.user_unescaped()
            || self.password.as_deref().map(unescape) != o.password.as_deref().map(unescape)
            || !self.host.eq_ignore_ascii_case(&o.host)
            || self.port != o.port
        {
            return false;
        }
        for (n, v) in &self.params {
            let ln = low(n);
            let other = o.params.iter().find(|(on, _)| low(on) == ln);
            match other {
                Some((_, ov)) => {
                    if v.as_deref().map(low) != ov.as_deref().map(low) {
                        return false;
                    }
                }
                None => {
                    if [&b"user"[..], b"ttl", b"method", b"maddr", b"transport"]
                        .contains(&ln.as_slice())
                    {
                        return false;
                    }
                }
            }
        }
        for (n, _) in &o.params {
            let ln = low(n);
            if [&b"user"[..], b"ttl", b"method", b"maddr", b"transport"].contains(&ln.as_slice())
                && !self.params.iter().any(|(sn, _)| low(sn) == ln)
            {
                return false;
            }
        }
        let mut a: Vec<_> = self
            .headers
            .iter()
            .map(|(n, v)| (low(n), unescape(v)))
            .collect();
        let mut b: Vec<_> = o
            .headers
            .iter()
            .map(|(n, v)| (low(n), unescape(v)))
            .collect();
        a.sort();
        b.sort();
        a == b
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        for (n, v) in &self.params {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Other { scheme, rest } => write!(f, "{scheme}:{rest}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        match Uri::parse(s) {
            Ok(Uri::Sip(u)) => u,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn escapes_compare_unescaped_and_print_verbatim() {
        let a = sip("sip:%75se%72@example.com");
        let b = sip("sip:user@EXAMPLE.com");
        assert!(a.equivalent(&b));
        assert_eq!(a.to_string(), "sip:%75se%72@example.com");
        let c = sip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert_eq!(
            c.to_string(),
            "sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31"
        );
        assert!(c.equivalent(&sip("sip:caller@host5.example.net;lr;name=value%2541")));
        assert_eq!(
            sip("sip:null-%00-null@example.com").user_unescaped(),
            Some(b"null-\0-null".to_vec())
        );
    }

    #[test]
    fn rejects_bad_uris() {
        assert!(Uri::parse("<sip:a@b>").is_err());
        assert!(Uri::parse("sip:a b@c").is_err());
        assert!(Uri::parse("sip:a@b:99999").is_err());
        assert!(Uri::parse("sip:a%zz@b").is_err());
        assert!(Uri::parse("sip:a@b;;x").is_err());
        assert!(matches!(
            Uri::parse("soap.beep://192.0.2.103:3002"),
            Ok(Uri::Other { .. })
        ));
    }

    #[test]
    fn transport_param_must_match() {
        assert!(!sip("sip:a@b;transport=tcp").equivalent(&sip("sip:a@b")));
        assert!(sip("sip:a@b;foo=1").equivalent(&sip("sip:a@b")));
        assert!(!sip("sip:a@b:5060").equivalent(&sip("sip:a@b")));
    }

    #[test]
    fn wild_user_part() {
        let u = sip("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
        assert_eq!(u.host, "example.com");
        assert_eq!(
            u.password.as_deref(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        let s = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(s.user.as_deref(), Some("user;par=u%40example.net"));
    }
}
