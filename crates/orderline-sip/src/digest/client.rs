//! The client side: parse a `WWW-Authenticate` / `Proxy-Authenticate` challenge, choose one,
//! answer it with an `Authorization` value (RFC 3261 §22.2, RFC 7616 §3.4).

use std::fmt;

use super::params::{is_token_char, parse_params, pick, val};
use super::{compute_response, echo, Algorithm, DigestError, Qop, ResponseInput};

/// A parsed Digest challenge (RFC 3261 §25.1 `digest-cln`, RFC 7616 §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// `realm`, unquoted.
    pub realm: String,
    /// `nonce`, unquoted.
    pub nonce: String,
    /// `opaque`, unquoted; echoed unchanged in the response (RFC 7616 §3.3).
    pub opaque: Option<String>,
    /// The algorithm; [`Algorithm::Md5`] when the challenge names none (RFC 7616 §3.3).
    pub algorithm: Algorithm,
    /// The offered qop values we understand, in the server's order. Empty when the challenge
    /// had no `qop` (RFC 2069 compatibility: no cnonce/nc in the response).
    pub qop: Vec<Qop>,
    /// `stale=true`: the nonce expired but the credentials were good; retry without asking
    /// the user again (RFC 7616 §3.3).
    pub stale: bool,
    /// The `algorithm` token exactly as the server spelled it (e.g. `SHA256` or `sha-256`),
    /// echoed back in the response; `None` when the challenge had no `algorithm` parameter,
    /// in which case the response names none either (RFC 2617 §3.2.2).
    pub algorithm_token: Option<String>,
}

/// What [`authorize`] needs to answer a challenge for one request.
///
/// `Debug` never shows the password.
#[derive(Clone, Copy)]
pub struct DigestRequest<'a> {
    /// The request method, e.g. `INVITE` (RFC 3261 §22.4: the method of the request, not
    /// `ACK`/`CANCEL`'s original one).
    pub method: &'a str,
    /// The `digest-uri`: the Request-URI of the request being authorized (RFC 3261 §22.4).
    pub uri: &'a str,
    /// The user name for the realm.
    pub username: &'a str,
    /// The shared secret. Never logged, never formatted.
    pub password: &'a str,
    /// A client nonce, fresh per nonce count reset; used when the challenge has a qop or a
    /// `-sess` algorithm. Should be unpredictable (RFC 7616 §5.4); the caller supplies it.
    pub cnonce: &'a str,
    /// The nonce count: 1 for the first request with a given nonce, then incremented
    /// (RFC 7616 §3.4). Sent as 8 hex digits.
    pub nc: u32,
    /// The message body, hashed only for `qop=auth-int` (RFC 7616 §3.4.3).
    pub body: &'a [u8],
}

impl fmt::Debug for DigestRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestRequest")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("cnonce", &self.cnonce)
            .field("nc", &self.nc)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Parses one `WWW-Authenticate` or `Proxy-Authenticate` header value (RFC 3261 §20.44,
/// §20.27, §25.1 `challenge`; RFC 7616 §3.3).
///
/// Accepts what the grammar allows and real servers send: any case for `Digest` and for
/// parameter names, LWS (including CRLF folding) around `=` and `,`, quoted or unquoted
/// `algorithm`, a quoted list of several `qop` values, unknown parameters (ignored, e.g.
/// `domain`, `charset`, `userhash`). `SHA-256` (RFC 8760) and `SHA256` are both accepted.
///
/// Rejects with a typed error: another scheme, an unknown algorithm, no `realm` or `nonce`,
/// a repeated known parameter, a `qop` list with neither `auth` nor `auth-int`, broken
/// quoting or separators.
pub fn parse_challenge(header_value: &str) -> Result<Challenge, DigestError> {
    let (_, params) = parse_params(header_value)?;
    let [realm, nonce, opaque, algorithm, qop, stale] = pick(
        params,
        ["realm", "nonce", "opaque", "algorithm", "qop", "stale"],
    )?
    .map(val);
    let realm = realm.ok_or(DigestError::MissingParam("realm"))?;
    let nonce = nonce.ok_or(DigestError::MissingParam("nonce"))?;
    let alg = match &algorithm {
        None => Algorithm::Md5,
        Some(t) => Algorithm::from_token(t.trim())
            .ok_or_else(|| DigestError::UnsupportedAlgorithm(echo(t)))?,
    };
    let qop = match qop {
        None => Vec::new(),
        Some(list) => {
            let mut out = Vec::new();
            for q in list
                .split(',')
                .filter_map(|t| Qop::from_token(t.trim_matches(|c: char| c.is_ascii_whitespace())))
            {
                if !out.contains(&q) {
                    out.push(q);
                }
            }
            if out.is_empty() {
                return Err(DigestError::UnsupportedQop);
            }
            out
        }
    };
    Ok(Challenge {
        realm,
        nonce,
        opaque,
        algorithm: alg,
        qop,
        // RFC 7616 §3.3: anything but "true" (case-insensitive) is false.
        stale: stale.is_some_and(|s| s.eq_ignore_ascii_case("true")),
        algorithm_token: algorithm.map(|t| t.trim().to_owned()),
    })
}

/// Picks the challenge to answer among those of one response: the strongest hash we support
/// (SHA-512-256 > SHA-256 > MD5); among equals, the first (the server lists its preference
/// first, RFC 8760 §2.4). Challenges that failed to parse should simply be left out.
///
/// RFC 8760 §2.4 lets a UAC use the topmost supported challenge "unless a local policy
/// dictates otherwise"; preferring the strongest hash is our local policy (see
/// `docs/decisions.md`). With a compliant server both rules give the same answer.
#[must_use]
pub fn choose(challenges: &[Challenge]) -> Option<&Challenge> {
    let mut best: Option<&Challenge> = None;
    for ch in challenges {
        if best.is_none_or(|b| ch.algorithm.strength() > b.algorithm.strength()) {
            best = Some(ch);
        }
    }
    best
}

/// A control character that must not go into a header value (tab is fine: it is LWS).
fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// Checks that `value` can go between quotes in a header: no controls (RFC 3261 §25.1
/// `qdtext` excludes them), and non-empty.
fn header_safe(value: &str, what: &'static str) -> Result<(), DigestError> {
    if value.is_empty() || value.bytes().any(is_ctl) {
        return Err(DigestError::InvalidValue(what));
    }
    Ok(())
}

/// Appends `, name=` (no comma right after the scheme) to a credentials value.
fn push_name(out: &mut String, name: &str) {
    if !out.ends_with(' ') {
        out.push_str(", ");
    }
    out.push_str(name);
    out.push('=');
}

/// Appends `name="value"` with `"` and `\` escaped (RFC 3261 §25.1 `quoted-pair`).
fn push_quoted(out: &mut String, name: &str, value: &str) {
    push_name(out, name);
    out.push('"');
    for ch in value.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
}

/// Builds the `Authorization` / `Proxy-Authorization` value answering `ch` (RFC 3261 §22.2,
/// §22.3; RFC 7616 §3.4).
///
/// - `qop`: `auth` if offered, else `auth-int`; sent unquoted (RFC 7616 §3.4, RFC 3261 §25.1
///   `message-qop`), with `nc` as 8 lower-case hex digits and the quoted `cnonce`.
/// - No `qop` in the challenge: the RFC 2069 form, no `nc` or `qop` (and no `cnonce` unless a
///   `-sess` algorithm needs it, RFC 2617 §3.2.2.2).
/// - `algorithm` is echoed exactly as the server spelled it, or omitted if it named none.
/// - `opaque` is echoed when present.
pub fn authorize(ch: &Challenge, req: &DigestRequest<'_>) -> Result<String, DigestError> {
    header_safe(req.username, "username")?;
    header_safe(req.uri, "uri")?;
    header_safe(req.method, "method")?;
    if !req.method.bytes().all(is_token_char) {
        return Err(DigestError::InvalidValue("method"));
    }
    let qop = if ch.qop.contains(&Qop::Auth) {
        Some(Qop::Auth)
    } else {
        ch.qop.first().copied()
    };
    // The server's strings go back between quotes: refuse any that would break the header.
    header_safe(&ch.realm, "realm")?;
    header_safe(&ch.nonce, "nonce")?;
    if let Some(opaque) = &ch.opaque {
        if opaque.bytes().any(is_ctl) {
            return Err(DigestError::InvalidValue("opaque"));
        }
    }
    let needs_cnonce = qop.is_some() || ch.algorithm.is_sess();
    if needs_cnonce {
        header_safe(req.cnonce, "cnonce")?;
        if qop.is_some() && req.nc == 0 {
            return Err(DigestError::BadNonceCount);
        }
    }
    let nc = format!("{:08x}", req.nc);
    let response = compute_response(&ResponseInput {
        alg: ch.algorithm,
        username: req.username,
        realm: &ch.realm,
        password: req.password,
        nonce: &ch.nonce,
        method: req.method,
        uri: req.uri,
        qop: qop.map(|q| (q, nc.as_str(), req.cnonce)),
        cnonce: req.cnonce,
        body: req.body,
        ha1: None,
    });

    let mut out = String::from("Digest ");
    push_quoted(&mut out, "username", req.username);
    push_quoted(&mut out, "realm", &ch.realm);
    push_quoted(&mut out, "nonce", &ch.nonce);
    push_quoted(&mut out, "uri", req.uri);
    push_quoted(&mut out, "response", &response);
    if let Some(token) = &ch.algorithm_token {
        push_name(&mut out, "algorithm");
        out.push_str(token);
    }
    if needs_cnonce {
        push_quoted(&mut out, "cnonce", req.cnonce);
    }
    if let Some(opaque) = &ch.opaque {
        push_quoted(&mut out, "opaque", opaque);
    }
    if let Some(q) = qop {
        push_name(&mut out, "qop");
        out.push_str(q.token());
        push_name(&mut out, "nc");
        out.push_str(&nc);
    }
    Ok(out)
}
