//! Adapter from a 401/407 response to an Authorization value (RFC 3261 §22.2),
//! over the `digest` module (branch `sdp`).

use super::endpoint::Credentials;

/// The `Authorization`/`Proxy-Authorization` value answering the strongest
/// challenge we support among `challenges`, or `None` if none can be answered.
pub fn answer_challenge<'a>(
    challenges: impl Iterator<Item = &'a str>,
    method: &str,
    uri: &str,
    creds: &Credentials,
    cnonce: &str,
    body: &[u8],
) -> Option<String> {
    let _ = (challenges.count(), method, uri, creds, cnonce, body);
    None // wired to digest::authorize once branch `sdp` is merged
}
