//! HTTP Digest authentication as SIP uses it: RFC 3261 §22 and §25.1 (grammar), RFC 7616
//! (algorithms, `-sess`, `qop`), RFC 8760 (SHA-256 and SHA-512-256 in SIP), with RFC 2069
//! compatibility when a challenge carries no `qop` (RFC 2617 §3.2.2.1).
//!
//! Sans-IO: nothing here reads a clock, a socket or a random source. The caller supplies the
//! `cnonce` and the nonce count, and keeps them per nonce.
//!
//! Client side: [`parse_challenge`] each `WWW-Authenticate` / `Proxy-Authenticate` value,
//! [`choose`] one, then [`authorize`] builds the `Authorization` / `Proxy-Authorization` value.
//! Server side: [`parse_credentials`] to learn the username (to look up its password), then
//! [`verify`] (or [`verify_with_body`] for `qop=auth-int`).
//!
//! Secrets: passwords are never stored in these types, never formatted by `Debug` (see
//! [`DigestRequest`]'s hand-written `Debug`) and never put in a [`DigestError`]. HA1, which is
//! password-equivalent, lives in a [`Zeroizing`] buffer and is wiped when dropped.

use std::fmt;

use md5::Md5;
use sha2::{Sha256, Sha512_256};
use zeroize::Zeroizing;

/// The longest header value we parse; real challenges are a few hundred bytes.
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// The longest piece of an offending input echoed inside a [`DigestError`].
const MAX_ECHO: usize = 32;

/// A digest algorithm (RFC 7616 §3.3 and its IANA registry, RFC 8760 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (RFC 2617, RFC 3261 §22.4); the default when a challenge names none.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 7616 §3.3; RFC 8760 §2.2). `SHA256` is accepted when parsing.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256`, i.e. SHA-512/256 of FIPS 180-4 (RFC 7616 §3.3; RFC 8760 §2.2).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
}

impl Algorithm {
    /// The registered spelling (RFC 7616 §6.1), used when we must name an algorithm ourselves.
    #[must_use]
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    /// Parses an `algorithm` token, case-insensitively (RFC 7616 §3.3 tokens are
    /// case-insensitive). Also accepts the unhyphenated `SHA256` and `SHA512-256` that some
    /// stacks send. Returns `None` for anything else (e.g. `AKAv1-MD5`).
    #[must_use]
    pub fn from_token(token: &str) -> Option<Self> {
        let (base, sess) = match token.len().checked_sub(5) {
            Some(cut)
                if token.is_char_boundary(cut) && token[cut..].eq_ignore_ascii_case("-sess") =>
            {
                (&token[..cut], true)
            }
            _ => (token, false),
        };
        let alg = if base.eq_ignore_ascii_case("MD5") {
            if sess {
                Algorithm::Md5Sess
            } else {
                Algorithm::Md5
            }
        } else if base.eq_ignore_ascii_case("SHA-256") || base.eq_ignore_ascii_case("SHA256") {
            if sess {
                Algorithm::Sha256Sess
            } else {
                Algorithm::Sha256
            }
        } else if base.eq_ignore_ascii_case("SHA-512-256")
            || base.eq_ignore_ascii_case("SHA512-256")
        {
            if sess {
                Algorithm::Sha512_256Sess
            } else {
                Algorithm::Sha512_256
            }
        } else {
            return None;
        };
        Some(alg)
    }

    /// Whether this is a `-sess` variant, whose HA1 also covers nonce and cnonce
    /// (RFC 7616 §3.4.2).
    #[must_use]
    pub fn is_sess(self) -> bool {
        matches!(
            self,
            Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess
        )
    }

    /// Relative strength of the hash, for [`choose`]: larger is stronger.
    fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => 3,
        }
    }

    /// Lower-case hex of H(concatenation of `parts`) (RFC 7616 §3.4: "H(data)" as hex).
    fn hash_hex(self, parts: &[&[u8]]) -> Zeroizing<String> {
        fn run<D: md5::Digest>(parts: &[&[u8]]) -> Zeroizing<String> {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            to_hex(&h.finalize())
        }
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => run::<Md5>(parts),
            Algorithm::Sha256 | Algorithm::Sha256Sess => run::<Sha256>(parts),
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => run::<Sha512_256>(parts),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

fn to_hex(bytes: &[u8]) -> Zeroizing<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = Zeroizing::new(String::with_capacity(bytes.len() * 2));
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// Quality of protection (RFC 7616 §3.3 `qop`; RFC 3261 §25.1 `qop-value`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: authentication of method and URI.
    Auth,
    /// `auth-int`: also covers the message body.
    AuthInt,
}

impl Qop {
    /// The token as sent on the wire.
    #[must_use]
    pub fn token(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }

    fn from_token(token: &str) -> Option<Self> {
        if token.eq_ignore_ascii_case("auth") {
            Some(Qop::Auth)
        } else if token.eq_ignore_ascii_case("auth-int") {
            Some(Qop::AuthInt)
        } else {
            None
        }
    }
}

/// Why a challenge or credentials could not be parsed or answered.
///
/// Never contains a password; echoed input is truncated to a few dozen characters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The header value is longer than [`MAX_HEADER_LEN`].
    #[error("authentication header longer than {MAX_HEADER_LEN} bytes")]
    TooLong,
    /// The scheme is not `Digest` (e.g. `Basic`, which SIP forbids: RFC 3261 §22.1).
    #[error("authentication scheme {0:?} is not Digest")]
    UnsupportedScheme(String),
    /// The `algorithm` is none we implement (e.g. `AKAv1-MD5`).
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// A `qop` was given but none of its values is `auth` or `auth-int`.
    #[error("no supported qop value offered (need auth or auth-int)")]
    UnsupportedQop,
    /// A required parameter is absent.
    #[error("missing {0} parameter")]
    MissingParam(&'static str),
    /// A parameter that may appear once appears twice (RFC 7616 §3.3, §3.4).
    #[error("parameter {0} appears more than once")]
    DuplicateParam(&'static str),
    /// The text does not follow the auth-param grammar (RFC 3261 §25.1).
    #[error("malformed authentication header at byte {at}: {what}")]
    Syntax {
        /// Byte offset into the header value.
        at: usize,
        /// What was expected there.
        what: &'static str,
    },
    /// A value we must send (ours, or the server's realm/nonce/opaque echoed back) contains
    /// characters a header cannot carry (CR, LF, NUL, other controls), or is empty where a
    /// value is required.
    #[error("{0} is empty or contains characters that cannot be sent in a header")]
    InvalidValue(&'static str),
    /// `nc` is not 8 hex digits, or is zero.
    #[error("nonce count must be 8 hex digits and not zero")]
    BadNonceCount,
    /// `qop=auth-int` credentials given to [`verify`], which has no body: use
    /// [`verify_with_body`].
    #[error("qop=auth-int needs the message body; use verify_with_body")]
    AuthIntNeedsBody,
}

fn echo(s: &str) -> String {
    s.chars()
        .take(MAX_ECHO)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// The inputs of the response computation (RFC 7616 §3.4.1–§3.4.3), all as sent on the wire.
struct ResponseInput<'a> {
    alg: Algorithm,
    username: &'a str,
    realm: &'a str,
    password: &'a str,
    nonce: &'a str,
    method: &'a str,
    uri: &'a str,
    /// qop, nc as its 8 hex digits, cnonce; `None` for the RFC 2069 form.
    qop: Option<(Qop, &'a str, &'a str)>,
    /// cnonce for the `-sess` HA1 (the same as in `qop` when both are present).
    cnonce: &'a str,
    body: &'a [u8],
    /// A stored `H(username:realm:password)` used instead of `password` (a
    /// registrar keeps HA1, never the password: RFC 7616 §5.2).
    ha1: Option<&'a str>,
}

/// `response` as lower-case hex (RFC 7616 §3.4.1; RFC 2617 §3.2.2.1 without qop).
fn compute_response(i: &ResponseInput<'_>) -> Zeroizing<String> {
    let h = |parts: &[&[u8]]| i.alg.hash_hex(parts);
    // A1 = username:realm:passwd, hashed piecewise so no buffer ever holds the password.
    let mut ha1 = match i.ha1 {
        Some(stored) => Zeroizing::new(stored.to_string()),
        None => h(&[
            i.username.as_bytes(),
            b":",
            i.realm.as_bytes(),
            b":",
            i.password.as_bytes(),
        ]),
    };
    if i.alg.is_sess() {
        // RFC 7616 §3.4.2: A1 = H(username:realm:passwd):nonce-prime:cnonce-prime
        ha1 = h(&[
            ha1.as_bytes(),
            b":",
            i.nonce.as_bytes(),
            b":",
            i.cnonce.as_bytes(),
        ]);
    }
    let ha2 = match i.qop {
        // RFC 7616 §3.4.3: A2 = Method:request-uri:H(entity-body)
        Some((Qop::AuthInt, _, _)) => {
            let body = h(&[i.body]);
            h(&[
                i.method.as_bytes(),
                b":",
                i.uri.as_bytes(),
                b":",
                body.as_bytes(),
            ])
        }
        _ => h(&[i.method.as_bytes(), b":", i.uri.as_bytes()]),
    };
    match i.qop {
        Some((q, nc, cnonce)) => h(&[
            ha1.as_bytes(),
            b":",
            i.nonce.as_bytes(),
            b":",
            nc.as_bytes(),
            b":",
            cnonce.as_bytes(),
            b":",
            q.token().as_bytes(),
            b":",
            ha2.as_bytes(),
        ]),
        None => h(&[
            ha1.as_bytes(),
            b":",
            i.nonce.as_bytes(),
            b":",
            ha2.as_bytes(),
        ]),
    }
}

mod client;
mod params;
mod server;
#[cfg(test)]
mod tests;

pub use client::{authorize, choose, parse_challenge, Challenge, DigestRequest};
pub use server::{ha1, parse_credentials, verify, verify_ha1, verify_with_body, Credentials};
