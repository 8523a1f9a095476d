//! SIP: transports, transactions, dialogs, digest authentication and SDP offer/answer.
pub mod digest;
pub mod sdp;
