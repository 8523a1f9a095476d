//! Typed errors of the SIP layer.
//!
//! Every [`ParseError`] knows the status code a UAS answers when a request
//! fails in that way (RFC 3261 §8.2, §21.4; RFC 4475 §3.1.2), so the front
//! door never has to guess.

/// Why a message could not be parsed, with the answer it earns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Stream framing: the header terminator or the body has not arrived yet.
    #[error("incomplete message")]
    Incomplete,
    /// RFC 3261 §7.1: `Method SP Request-URI SP SIP-Version CRLF`, single spaces.
    #[error("malformed Request-Line")]
    RequestLine,
    /// RFC 3261 §7.2: `SIP-Version SP Status-Code SP Reason-Phrase`.
    #[error("malformed Status-Line")]
    StatusLine,
    /// RFC 3261 §8.2.4 / §21.5.6: only SIP/2.0 is spoken.
    #[error("SIP version not supported: {0}")]
    Version(String),
    /// RFC 3261 §25.1 `Method = token`.
    #[error("invalid method")]
    Method,
    /// RFC 3261 §8.2.2.1: a Request-URI scheme we do not understand.
    #[error("unsupported URI scheme {0}")]
    UnsupportedScheme(String),
    /// RFC 3261 §19.1, §25.1 URI grammar.
    #[error("malformed URI: {0}")]
    Uri(&'static str),
    /// A header field value that does not follow its grammar (§20, §25.1).
    #[error("malformed {name} header: {why}")]
    Header {
        name: &'static str,
        why: &'static str,
    },
    /// A header line without a colon or with a non-token name.
    #[error("malformed header line")]
    HeaderLine,
    /// RFC 3261 §8.1.1 mandatory header missing.
    #[error("missing {0} header")]
    Missing(&'static str),
    /// RFC 4475 §3.3.8: a single-valued header appears more than once.
    #[error("multiple {0} headers")]
    Multiple(&'static str),
    /// RFC 3261 §18.3, §20.14; RFC 4475 §3.1.2.2, §3.1.2.3, §3.3.9.
    #[error("bad Content-Length: {0}")]
    ContentLength(&'static str),
    /// RFC 4475 §3.1.2.17: CSeq method differs from the Request-Line method.
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
    /// Header section not valid UTF-8 (RFC 3261 §7.3.1 TEXT-UTF8).
    #[error("header section is not UTF-8")]
    NotUtf8,
    /// Over our size limit (RFC 3261 §21.4.11).
    #[error("message too large")]
    TooLarge,
}

impl ParseError {
    /// The final status a UAS sends for a request failing this way.
    /// Responses that fail to parse are discarded (RFC 4475 §3.1.2.19).
    pub fn status(&self) -> u16 {
        match self {
            ParseError::Version(_) => 505,
            ParseError::UnsupportedScheme(_) => 416,
            ParseError::TooLarge => 513,
            _ => 400,
        }
    }

    /// A reason phrase naming the problem (RFC 3261 §21.4.1 lets us do so).
    pub fn reason_phrase(&self) -> String {
        let base = match self.status() {
            505 => "Version Not Supported",
            416 => "Unsupported URI Scheme",
            513 => "Message Too Large",
            _ => "Bad Request",
        };
        sanitize_reason(&format!("{base} ({self})"))
    }
}

/// Keep a reason phrase on one line and printable (RFC 3261 §25.1 Reason-Phrase).
pub fn sanitize_reason(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect()
}

/// Errors of the endpoint and driver API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SipError {
    #[error("invalid URI {uri:?}: {source}")]
    InvalidUri { uri: String, source: ParseError },
    /// The sans-IO core routes to IP literals only; names are resolved by the caller.
    #[error("cannot route to host {0:?}: not an IP address")]
    Unroutable(String),
    #[error("unknown call")]
    UnknownCall,
    #[error("command not valid in the call's state: {0}")]
    InvalidState(&'static str),
    #[error("too many calls in progress")]
    Overloaded,
    #[error("driver stopped")]
    Stopped,
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
