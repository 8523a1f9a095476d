//! SIP messages: framing (RFC 3261 §7, §18.3), strict parsing into typed
//! core headers, and serialization.
//!
//! Parsing is two-step. [`RawMessage::parse`] only frames the octets (start
//! line, unfolded header lines, body by Content-Length) and records what is
//! wrong; [`Message::from_raw`] applies the grammar. A request that fails the
//! second step still has its raw Via/From/To/Call-ID/CSeq, so the front door
//! can answer it with the right status (RFC 4475 §3.1.2).

use std::fmt::{self, Write as _};

use super::error::ParseError;
use super::header::{
    canonical_name, is_token, parse_scalar, parse_token_list, CSeq, NameAddr, Via,
};
use super::uri::Uri;

/// Largest message we accept (RFC 3261 §18.1.1 guidance for UDP, doubled).
pub const MAX_MESSAGE: usize = 65_535;

/// How the bytes arrived (RFC 3261 §18.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One datagram is one message; octets beyond Content-Length are ignored.
    Datagram,
    /// A byte stream; Content-Length is mandatory and delimits the message.
    Stream,
}

/// Request methods (RFC 3261 §7.1, §27.4). Method names are case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Register,
    Info,
    Update,
    Prack,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
    Extension(String),
}

impl Method {
    pub fn parse(s: &str) -> Result<Method, ParseError> {
        Ok(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other if is_token(other) => Method::Extension(other.to_string()),
            _ => return Err(ParseError::Method),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Extension(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A framed but not yet validated message.
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub start_line: String,
    /// `(name as written, unfolded value)` in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The first framing problem found (bad header line, Content-Length...).
    pub defect: Option<ParseError>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl RawMessage {
    /// Frame one message from `buf`. Returns the message and the octets consumed.
    /// `Err(Incomplete)` on a stream means "read more".
    pub fn parse(buf: &[u8], framing: Framing) -> Result<(RawMessage, usize), ParseError> {
        // RFC 3261 §7.5: ignore CRLFs before the start line (keep-alives).
        let lead = buf
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let data = &buf[lead..];
        let head_end = match find(data, b"\r\n\r\n") {
            Some(i) => i,
            None if data.len() > MAX_MESSAGE => return Err(ParseError::TooLarge),
            // A datagram is complete: its end also ends a header section that
            // lacks the empty line (seen in the wild and in RFC 4475 copies).
            None if framing == Framing::Datagram && data.ends_with(b"\r\n") => {
                let head = &data[..data.len() - 2];
                let mut padded = head.to_vec();
                padded.extend_from_slice(b"\r\n\r\n");
                let (raw, _) = RawMessage::parse(&padded, framing)?;
                return Ok((raw, buf.len()));
            }
            None => return Err(ParseError::Incomplete),
        };
        if head_end > MAX_MESSAGE {
            return Err(ParseError::TooLarge);
        }
        let mut defect = None;
        let mut lines = data[..head_end]
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let start_line = match lines.next().map(std::str::from_utf8) {
            Some(Ok(s)) if !s.is_empty() => s.to_string(),
            _ => return Err(ParseError::RequestLine),
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            let Ok(line) = std::str::from_utf8(line) else {
                defect.get_or_insert(ParseError::NotUtf8);
                continue;
            };
            if line.starts_with([' ', '\t']) {
                // RFC 3261 §7.3.1 folding: continuation of the previous value.
                match headers.last_mut() {
                    Some((_, v)) => {
                        let t = line.trim();
                        if !t.is_empty() {
                            if !v.is_empty() {
                                v.push(' ');
                            }
                            v.push_str(t);
                        }
                    }
                    None => {
                        defect.get_or_insert(ParseError::HeaderLine);
                    }
                }
                continue;
            }
            match line.split_once(':') {
                Some((n, v)) if is_token(n.trim_end()) => {
                    headers.push((n.trim_end().to_string(), v.trim().to_string()))
                }
                _ => {
                    defect.get_or_insert(ParseError::HeaderLine);
                }
            }
        }
        let body_start = lead + head_end + 4;
        let rest = &buf[body_start..];
        let cls: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| canonical_name(n) == "Content-Length")
            .map(|(_, v)| v.as_str())
            .collect();
        let cl = match cls.as_slice() {
            [] => None,
            [one] => match parse_scalar(one, MAX_MESSAGE as u64, "Content-Length") {
                Ok(n) => Some(n as usize),
                Err(_) => {
                    defect.get_or_insert(ParseError::ContentLength("not a non-negative number"));
                    None
                }
            },
            _ => {
                defect.get_or_insert(ParseError::Multiple("Content-Length"));
                None
            }
        };
        match framing {
            Framing::Stream => {
                // A stream cannot be resynchronised after a bad length.
                if let Some(d @ (ParseError::ContentLength(_) | ParseError::Multiple(_))) = &defect
                {
                    return Err(d.clone());
                }
                let n = cl.ok_or(ParseError::ContentLength("missing on a stream transport"))?;
                if rest.len() < n {
                    return Err(ParseError::Incomplete);
                }
                let raw = RawMessage {
                    start_line,
                    headers,
                    body: rest[..n].to_vec(),
                    defect,
                };
                Ok((raw, body_start + n))
            }
            Framing::Datagram => {
                let body = match cl {
                    Some(n) if n <= rest.len() => rest[..n].to_vec(),
                    Some(_) => {
                        defect.get_or_insert(ParseError::ContentLength("larger than the datagram"));
                        rest.to_vec()
                    }
                    None => rest.to_vec(),
                };
                Ok((
                    RawMessage {
                        start_line,
                        headers,
                        body,
                        defect,
                    },
                    buf.len(),
                ))
            }
        }
    }

    pub fn is_request(&self) -> bool {
        !self.start_line.starts_with("SIP/")
    }

    /// All raw values of a header, by canonical name.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| canonical_name(n) == name)
            .map(|(_, v)| v.as_str())
    }

    /// The method token of a request line, if it has one.
    pub fn method_token(&self) -> Option<&str> {
        self.start_line.split(' ').next().filter(|m| is_token(m))
    }
}

/// Request-Line or Status-Line.
#[derive(Debug, Clone)]
pub enum StartLine {
    Request { method: Method, uri: Uri },
    Response { status: u16, reason: String },
}

/// A validated SIP message with typed core headers.
#[derive(Debug, Clone)]
pub struct Message {
    pub start: StartLine,
    pub via: Vec<Via>,
    pub from: NameAddr,
    pub to: NameAddr,
    pub call_id: String,
    pub cseq: CSeq,
    pub max_forwards: Option<u8>,
    pub contact: Vec<NameAddr>,
    pub record_route: Vec<NameAddr>,
    pub route: Vec<NameAddr>,
    pub content_type: Option<String>,
    pub require: Vec<String>,
    pub proxy_require: Vec<String>,
    /// Every other header, `(canonical name, value)`, in order.
    pub other: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn single<'a>(raw: &'a RawMessage, name: &'static str) -> Result<Option<&'a str>, ParseError> {
    let mut it = raw.values(name);
    let first = it.next();
    if it.next().is_some() {
        return Err(ParseError::Multiple(name));
    }
    Ok(first)
}

fn parse_request_line(line: &str) -> Result<(Method, Uri), ParseError> {
    let parts: Vec<&str> = line.split(' ').collect();
    let [m, u, v] = parts.as_slice() else {
        return Err(ParseError::RequestLine);
    };
    if m.is_empty() || u.is_empty() || v.is_empty() || line.contains('\t') {
        return Err(ParseError::RequestLine);
    }
    let method = Method::parse(m)?;
    check_version(v)?;
    let uri = Uri::parse(u)?;
    match &uri {
        Uri::Sip(s) if !s.headers.is_empty() => {
            return Err(ParseError::Uri("headers in Request-URI"))
        }
        Uri::Sip(_) => {}
        Uri::Other { scheme, .. } if scheme.eq_ignore_ascii_case("tel") => {}
        Uri::Other { scheme, .. } => return Err(ParseError::UnsupportedScheme(scheme.clone())),
    }
    Ok((method, uri))
}

/// `SIP/2.0` (case-insensitive, RFC 3261 §7.1); another `SIP/x.y` is a 505.
fn check_version(v: &str) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    match v.get(..4) {
        Some(p)
            if p.eq_ignore_ascii_case("SIP/")
                && v[4..].split('.').count() == 2
                && v[4..].bytes().all(|c| c.is_ascii_digit() || c == b'.') =>
        {
            Err(ParseError::Version(v.to_string()))
        }
        _ => Err(ParseError::RequestLine),
    }
}

fn parse_status_line(line: &str) -> Result<(u16, String), ParseError> {
    let mut it = line.splitn(3, ' ');
    let (v, code, reason) = (it.next(), it.next(), it.next());
    if v != Some("SIP/2.0") {
        return Err(ParseError::StatusLine);
    }
    let code = code
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(ParseError::StatusLine)?;
    let status: u16 = code.parse().map_err(|_| ParseError::StatusLine)?;
    if !(100..=699).contains(&status) {
        return Err(ParseError::StatusLine);
    }
    Ok((status, reason.unwrap_or("").to_string()))
}

impl Message {
    /// Parse one datagram (UDP) strictly.
    pub fn parse(buf: &[u8]) -> Result<Message, ParseError> {
        let (raw, _) = RawMessage::parse(buf, Framing::Datagram)?;
        Message::from_raw(&raw)
    }

    /// Apply the grammar to a framed message (RFC 3261 §7, §20, §25).
    pub fn from_raw(raw: &RawMessage) -> Result<Message, ParseError> {
        let start = if raw.is_request() {
            let (method, uri) = parse_request_line(&raw.start_line)?;
            StartLine::Request { method, uri }
        } else {
            let (status, reason) = parse_status_line(&raw.start_line)?;
            StartLine::Response { status, reason }
        };
        if let Some(d) = &raw.defect {
            return Err(d.clone());
        }
        let mut via = Vec::new();
        for v in raw.values("Via") {
            via.extend(Via::parse_list(v)?);
        }
        if via.is_empty() {
            return Err(ParseError::Missing("Via"));
        }
        let from = NameAddr::parse(
            single(raw, "From")?.ok_or(ParseError::Missing("From"))?,
            "From",
        )?;
        let to = NameAddr::parse(single(raw, "To")?.ok_or(ParseError::Missing("To"))?, "To")?;
        let call_id = single(raw, "Call-ID")?
            .ok_or(ParseError::Missing("Call-ID"))?
            .to_string();
        if call_id.is_empty() || call_id.contains(char::is_whitespace) {
            return Err(ParseError::Header {
                name: "Call-ID",
                why: "empty or contains spaces",
            });
        }
        let cseq = CSeq::parse(single(raw, "CSeq")?.ok_or(ParseError::Missing("CSeq"))?)?;
        let max_forwards = match single(raw, "Max-Forwards")? {
            Some(v) => Some(parse_scalar(v, 255, "Max-Forwards")? as u8),
            None => None,
        };
        if let Some(v) = single(raw, "Expires")? {
            parse_scalar(v, u32::MAX as u64, "Expires")?;
        }
        let content_type = match single(raw, "Content-Type")? {
            Some(v) => {
                let mt = v.split(';').next().unwrap_or("").trim();
                match mt.split_once('/') {
                    Some((t, s)) if is_token(t.trim()) && is_token(s.trim()) => Some(v.to_string()),
                    _ => {
                        return Err(ParseError::Header {
                            name: "Content-Type",
                            why: "not type/subtype",
                        })
                    }
                }
            }
            None => None,
        };
        let mut contact = Vec::new();
        let mut record_route = Vec::new();
        let mut route = Vec::new();
        let mut require = Vec::new();
        let mut proxy_require = Vec::new();
        let mut other = Vec::new();
        for (n, v) in &raw.headers {
            let name = canonical_name(n);
            match name.as_str() {
                "Via" | "From" | "To" | "Call-ID" | "CSeq" | "Max-Forwards" | "Content-Type"
                | "Content-Length" => {}
                "Contact" if v.trim() == "*" => other.push((name, v.clone())),
                "Contact" => contact.extend(NameAddr::parse_list(v, "Contact")?),
                "Record-Route" => record_route.extend(NameAddr::parse_list(v, "Record-Route")?),
                "Route" => route.extend(NameAddr::parse_list(v, "Route")?),
                "Require" => require.extend(parse_token_list(v, "Require")?),
                "Proxy-Require" => proxy_require.extend(parse_token_list(v, "Proxy-Require")?),
                _ => other.push((name, v.clone())),
            }
        }
        if let StartLine::Request { method, .. } = &start {
            if method.as_str() != cseq.method {
                return Err(ParseError::CSeqMismatch);
            }
        }
        Ok(Message {
            start,
            via,
            from,
            to,
            call_id,
            cseq,
            max_forwards,
            contact,
            record_route,
            route,
            content_type,
            require,
            proxy_require,
            other,
            body: raw.body.clone(),
        })
    }

    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { status, .. } => Some(*status),
            StartLine::Request { .. } => None,
        }
    }

    /// First value of another header (canonical name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.other
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of another header (canonical name).
    pub fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.other
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `type/subtype` of the body, lower-case.
    pub fn media_type(&self) -> Option<String> {
        self.content_type.as_deref().map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .replace(' ', "")
                .to_ascii_lowercase()
        })
    }

    /// A response to this request (RFC 3261 §8.2.6.2): Via, From, Call-ID,
    /// CSeq copied; To copied with `to_tag` added if it has none.
    pub fn response(&self, status: u16, reason: &str, to_tag: Option<&str>) -> Message {
        let mut to = self.to.clone();
        if let (None, Some(t)) = (to.tag(), to_tag) {
            to.set_tag(t);
        }
        Message {
            start: StartLine::Response {
                status,
                reason: reason.to_string(),
            },
            via: self.via.clone(),
            from: self.from.clone(),
            to,
            call_id: self.call_id.clone(),
            cseq: self.cseq.clone(),
            max_forwards: None,
            contact: Vec::new(),
            record_route: if (101..300).contains(&status) {
                self.record_route.clone()
            } else {
                Vec::new()
            },
            route: Vec::new(),
            content_type: None,
            require: Vec::new(),
            proxy_require: Vec::new(),
            other: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Serialize (RFC 3261 §7); Content-Length is always written.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(512);
        match &self.start {
            StartLine::Request { method, uri } => {
                let _ = write!(s, "{method} {uri} SIP/2.0\r\n");
            }
            StartLine::Response { status, reason } => {
                let _ = write!(s, "SIP/2.0 {status} {reason}\r\n");
            }
        }
        for v in &self.via {
            let _ = write!(s, "Via: {v}\r\n");
        }
        if let Some(mf) = self.max_forwards {
            let _ = write!(s, "Max-Forwards: {mf}\r\n");
        }
        for r in &self.route {
            let _ = write!(s, "Route: {r}\r\n");
        }
        for r in &self.record_route {
            let _ = write!(s, "Record-Route: {r}\r\n");
        }
        let _ = write!(
            s,
            "From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\n",
            self.from, self.to, self.call_id, self.cseq
        );
        for c in &self.contact {
            let _ = write!(s, "Contact: {c}\r\n");
        }
        for (n, v) in &self.other {
            let _ = write!(s, "{n}: {v}\r\n");
        }
        if !self.require.is_empty() {
            let _ = write!(s, "Require: {}\r\n", self.require.join(", "));
        }
        if !self.proxy_require.is_empty() {
            let _ = write!(s, "Proxy-Require: {}\r\n", self.proxy_require.join(", "));
        }
        if let Some(ct) = &self.content_type {
            let _ = write!(s, "Content-Type: {ct}\r\n");
        }
        let _ = write!(s, "Content-Length: {}\r\n\r\n", self.body.len());
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// Answer a request that failed [`Message::from_raw`] (RFC 4475 §3.1.2): the
/// raw Via, From, To, Call-ID and CSeq lines are copied verbatim. `None` when
/// there is no Via to answer along (RFC 3261 §18.2.2) or it is not a request.
pub fn error_response_from_raw(
    raw: &RawMessage,
    status: u16,
    reason: &str,
    to_tag: &str,
) -> Option<Vec<u8>> {
    if !raw.is_request() || raw.method_token() == Some("ACK") {
        return None;
    }
    raw.values("Via").next()?;
    let mut s = format!("SIP/2.0 {status} {reason}\r\n");
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        for v in raw.values(name) {
            if name == "To" && !v.contains("tag") {
                let _ = write!(s, "To: {v};tag={to_tag}\r\n");
            } else {
                let _ = write!(s, "{name}: {v}\r\n");
            }
        }
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    Some(s.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx;rport\r\nMax-Forwards: 70\r\nf: <sip:a@127.0.0.1>;tag=1\r\nt: <sip:bob@127.0.0.1>\r\ni: abc\r\nCSeq: 1 INVITE\r\nc: application/sdp\r\nl: 4\r\n\r\nv=0\r\nEXTRA";

    #[test]
    fn round_trip_and_compact_forms() {
        let m = Message::parse(INVITE.as_bytes()).unwrap();
        assert_eq!(m.body, b"v=0\r");
        assert_eq!(m.call_id, "abc");
        assert_eq!(m.media_type().as_deref(), Some("application/sdp"));
        let again = Message::parse(&m.to_bytes()).unwrap();
        assert_eq!(again.to_bytes(), m.to_bytes());
    }

    #[test]
    fn stream_framing_waits_for_body() {
        let full = INVITE.as_bytes();
        let cut = full.len() - 8;
        assert_eq!(
            RawMessage::parse(&full[..cut], Framing::Stream).err(),
            Some(ParseError::Incomplete)
        );
        let (_, used) = RawMessage::parse(full, Framing::Stream).unwrap();
        assert_eq!(&full[used..], b"\nEXTRA");
    }

    #[test]
    fn status_line_rules() {
        assert!(parse_status_line("SIP/2.0 100 ").is_ok());
        assert!(parse_status_line("SIP/2.0 4294967301 x").is_err());
        assert!(parse_status_line("SIP/2.0 099 x").is_err());
        assert_eq!(
            check_version("SIP/7.0"),
            Err(ParseError::Version("SIP/7.0".into()))
        );
    }
}
