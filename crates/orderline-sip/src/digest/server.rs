//! The server side: parse `Authorization` credentials and verify them against a password or a
//! stored HA1 (RFC 3261 §22.3; RFC 7616 §3.4, §5.2).

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::params::{parse_params, pick, val};
use super::{compute_response, echo, Algorithm, DigestError, Qop, ResponseInput};

/// Parsed `Authorization` / `Proxy-Authorization` credentials (RFC 3261 §25.1
/// `digest-response`; RFC 7616 §3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// `username`, unquoted.
    pub username: String,
    /// `realm`, unquoted.
    pub realm: String,
    /// `nonce`, unquoted.
    pub nonce: String,
    /// `uri` (the digest-uri), unquoted. A server should check it names the Request-URI
    /// (RFC 7616 §3.4.6); [`verify`] does not, having no request.
    pub uri: String,
    /// `response`, the hex digest, unquoted.
    pub response: String,
    /// The algorithm; MD5 when absent.
    pub algorithm: Algorithm,
    /// `cnonce`, unquoted.
    pub cnonce: Option<String>,
    /// `nc`, the 8 hex digits exactly as sent (they enter the hash as text).
    pub nc: Option<String>,
    /// `qop` chosen by the client.
    pub qop: Option<Qop>,
    /// `opaque`, unquoted.
    pub opaque: Option<String>,
}

/// Parses an `Authorization` / `Proxy-Authorization` value. A server calls this first to
/// learn the `username`, looks up that user's password, then calls [`verify`].
pub fn parse_credentials(authorization_value: &str) -> Result<Credentials, DigestError> {
    let (_, params) = parse_params(authorization_value)?;
    let [username, realm, nonce, uri, response, algorithm, cnonce, nc, qop, opaque] = pick(
        params,
        [
            "username",
            "realm",
            "nonce",
            "uri",
            "response",
            "algorithm",
            "cnonce",
            "nc",
            "qop",
            "opaque",
        ],
    )?;
    // RFC 3261 §25.1: nonce-count = "nc" EQUAL 8LHEX, never quoted.
    if nc.as_ref().is_some_and(|(_, quoted)| *quoted) {
        return Err(DigestError::BadNonceCount);
    }
    let [username, realm, nonce, uri, response, algorithm, cnonce, nc, qop, opaque] = [
        username, realm, nonce, uri, response, algorithm, cnonce, nc, qop, opaque,
    ]
    .map(val);
    let algorithm = match &algorithm {
        None => Algorithm::Md5,
        Some(t) => {
            Algorithm::from_token(t).ok_or_else(|| DigestError::UnsupportedAlgorithm(echo(t)))?
        }
    };
    let qop = match qop {
        None => None,
        Some(q) => Some(Qop::from_token(&q).ok_or(DigestError::UnsupportedQop)?),
    };
    if let Some(nc) = &nc {
        let ok = nc.len() == 8 && nc.bytes().all(|b| b.is_ascii_hexdigit()) && nc != "00000000";
        if !ok {
            return Err(DigestError::BadNonceCount);
        }
    }
    if qop.is_some() {
        if cnonce.is_none() {
            return Err(DigestError::MissingParam("cnonce"));
        }
        if nc.is_none() {
            return Err(DigestError::MissingParam("nc"));
        }
    }
    if algorithm.is_sess() && cnonce.is_none() {
        return Err(DigestError::MissingParam("cnonce"));
    }
    Ok(Credentials {
        username: username.ok_or(DigestError::MissingParam("username"))?,
        realm: realm.ok_or(DigestError::MissingParam("realm"))?,
        nonce: nonce.ok_or(DigestError::MissingParam("nonce"))?,
        uri: uri.ok_or(DigestError::MissingParam("uri"))?,
        response: response.ok_or(DigestError::MissingParam("response"))?,
        algorithm,
        cnonce,
        nc,
        qop,
        opaque,
    })
}

/// Server side: whether `authorization_value` proves knowledge of `password` for a request
/// with `method`, in `expected_realm`, for the nonce we issued (`expected_nonce`).
///
/// `Ok(false)` for a wrong password, realm or nonce; `Err` when the value cannot be parsed
/// or uses what we do not support. The response is compared in constant time. Credentials
/// with `qop=auth-int` give [`DigestError::AuthIntNeedsBody`]: use [`verify_with_body`].
///
/// Not checked here (the caller's job): that `username` is the user whose password was
/// passed, that `uri` matches the Request-URI, and that `nc` increases (replay).
pub fn verify(
    authorization_value: &str,
    method: &str,
    password: &str,
    expected_realm: &str,
    expected_nonce: &str,
) -> Result<bool, DigestError> {
    verify_inner(
        authorization_value,
        method,
        password,
        expected_realm,
        expected_nonce,
        None,
    )
}

/// [`verify`], also for `qop=auth-int`, whose response covers `body` (RFC 7616 §3.4.3).
pub fn verify_with_body(
    authorization_value: &str,
    method: &str,
    password: &str,
    expected_realm: &str,
    expected_nonce: &str,
    body: &[u8],
) -> Result<bool, DigestError> {
    verify_inner(
        authorization_value,
        method,
        password,
        expected_realm,
        expected_nonce,
        Some(body),
    )
}

fn verify_inner(
    authorization_value: &str,
    method: &str,
    password: &str,
    expected_realm: &str,
    expected_nonce: &str,
    body: Option<&[u8]>,
) -> Result<bool, DigestError> {
    let cr = parse_credentials(authorization_value)?;
    if cr.qop == Some(Qop::AuthInt) && body.is_none() {
        return Err(DigestError::AuthIntNeedsBody);
    }
    if cr.realm != expected_realm || cr.nonce != expected_nonce {
        return Ok(false);
    }
    Ok(response_matches(
        &cr,
        method,
        password,
        None,
        body.unwrap_or(&[]),
    ))
}

/// Whether `cr.response` is the one `password` (or a stored `ha1`) gives, compared in
/// constant time.
fn response_matches(
    cr: &Credentials,
    method: &str,
    password: &str,
    ha1: Option<&str>,
    body: &[u8],
) -> bool {
    let cnonce = cr.cnonce.as_deref().unwrap_or("");
    let nc = cr.nc.as_deref().unwrap_or("");
    let expected = compute_response(&ResponseInput {
        alg: cr.algorithm,
        username: &cr.username,
        realm: &cr.realm,
        password,
        nonce: &cr.nonce,
        method,
        uri: &cr.uri,
        qop: cr.qop.map(|q| (q, nc, cnonce)),
        cnonce,
        body,
        ha1,
    });
    // RFC 7616 §3.4.1: lower-case hex; tolerate upper case from sloppy clients.
    let given = cr.response.to_ascii_lowercase();
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// `HA1 = H(username:realm:password)` as lower-case hex (RFC 7616 §3.4.2): what a
/// registrar stores instead of the password. Password-equivalent for that realm, so it
/// lives in a [`Zeroizing`] buffer.
#[must_use]
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> Zeroizing<String> {
    alg.hash_hex(&[
        username.as_bytes(),
        b":",
        realm.as_bytes(),
        b":",
        password.as_bytes(),
    ])
}

/// Server side with a stored HA1 (see [`ha1`]) instead of the password: whether the parsed
/// credentials `cr` answer `expected_nonce` in `expected_realm` for `method`. `ha1` must
/// have been computed with `cr.algorithm`'s hash (MD5 for MD5 and MD5-sess). `auth-int`
/// is not accepted here (REGISTER is challenged with `qop="auth"` only). The response is
/// compared in constant time.
#[must_use]
pub fn verify_ha1(
    cr: &Credentials,
    method: &str,
    ha1: &str,
    expected_realm: &str,
    expected_nonce: &str,
) -> bool {
    if cr.qop == Some(Qop::AuthInt) || cr.realm != expected_realm || cr.nonce != expected_nonce {
        return false;
    }
    response_matches(cr, method, "", Some(ha1), &[])
}
