//! Adapter from a 401/407 response to an Authorization value (RFC 3261 §22.2),
//! over [`super::digest`]: the strongest challenge we support is answered.

use super::digest::{self, DigestRequest};
use super::endpoint::Credentials;

/// The `Authorization`/`Proxy-Authorization` value answering the strongest
/// challenge we support among `challenges` (the header values of a 401/407),
/// or `None` if none can be answered.
pub fn answer_challenge<'a>(
    challenges: impl Iterator<Item = &'a str>,
    method: &str,
    uri: &str,
    creds: &Credentials,
    cnonce: &str,
    body: &[u8],
) -> Option<String> {
    let parsed: Vec<digest::Challenge> = challenges
        .filter_map(|c| digest::parse_challenge(c).ok())
        .collect();
    let ch = digest::choose(&parsed)?;
    let req = DigestRequest {
        method,
        uri,
        username: &creds.username,
        password: &creds.password,
        cnonce,
        nc: 1,
        body,
    };
    digest::authorize(ch, &req).ok()
}
