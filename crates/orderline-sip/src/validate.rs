//! The front door for requests addressed to us as a UAS (RFC 3261 §8.2,
//! RFC 4475 §3.3): method, Require, and content checks, each with the
//! answer the RFC prescribes. Syntax errors are caught earlier by
//! [`super::message::Message::from_raw`] and answered with their own status.

use super::message::{Message, Method};

/// Methods we implement as a UA (RFC 3261 §8.2.1 Allow).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO";

/// [`ALLOW`] when the endpoint also serves a registrar (RFC 3261 §20.5:
/// Allow lists the methods the UA supports, so REGISTER is in it only then).
pub const ALLOW_WITH_REGISTER: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO, REGISTER";
/// Extensions we implement (RFC 3261 §20.37 Supported): session timers, RFC 4028.
pub const SUPPORTED: &str = "timer";
/// Body types we take on INVITE (RFC 3261 §8.2.3 Accept).
pub const ACCEPT: &str = "application/sdp";

/// A request refused before it reaches a transaction user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
    /// Extra headers the status requires (Allow, Unsupported, Accept).
    pub headers: Vec<(String, String)>,
}

fn reject(status: u16, reason: &str, headers: Vec<(String, String)>) -> Rejection {
    Rejection {
        status,
        reason: reason.to_string(),
        headers,
    }
}

/// Is this a method we know from an RFC but do not serve (405), as opposed
/// to one we do not recognise at all (501, RFC 3261 §8.2.1, RFC 4475 §3.1.1.2)?
fn known_unsupported(m: &Method) -> bool {
    !matches!(m, Method::Extension(_))
}

/// Check a parsed request in the order of RFC 3261 §8.2.1–§8.2.3.
/// ACK is never answered; CANCEL and ACK are not refused for Require (§8.2.2.3).
/// Max-Forwards 0 is not checked: a UAS processes it (RFC 4475 §3.3.11).
pub fn check_request(msg: &Message) -> Result<(), Rejection> {
    let Some(method) = msg.method() else {
        return Ok(());
    };
    let allow = vec![("Allow".to_string(), ALLOW.to_string())];
    match method {
        Method::Invite
        | Method::Ack
        | Method::Bye
        | Method::Cancel
        | Method::Options
        | Method::Update
        | Method::Info => {}
        m if known_unsupported(m) => return Err(reject(405, "Method Not Allowed", allow)),
        _ => return Err(reject(501, "Not Implemented", allow)),
    }
    // The one extension we implement is RFC 4028's `timer`.
    let unsupported: Vec<&str> = msg
        .require
        .iter()
        .map(String::as_str)
        .filter(|r| !r.eq_ignore_ascii_case(SUPPORTED))
        .collect();
    if !matches!(method, Method::Ack | Method::Cancel) && !unsupported.is_empty() {
        return Err(reject(
            420,
            "Bad Extension",
            vec![("Unsupported".to_string(), unsupported.join(", "))],
        ));
    }
    if matches!(method, Method::Invite | Method::Update) && !msg.body.is_empty() {
        let ok = msg.media_type().is_some_and(|t| t == ACCEPT);
        if !ok
            || msg
                .header("Content-Encoding")
                .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"))
        {
            return Err(reject(
                415,
                "Unsupported Media Type",
                vec![("Accept".to_string(), ACCEPT.to_string())],
            ));
        }
    }
    Ok(())
}

/// RFC 3261 §8.1.3.3 / RFC 4475 §3.3.10: a response with more than one Via
/// (or a Via that is not ours) is discarded by a UAC.
pub fn response_acceptable(msg: &Message) -> bool {
    msg.via.len() == 1
}
