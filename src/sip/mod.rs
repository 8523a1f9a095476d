//! The SIP layer: a strict sans-IO core (message, transaction, dialog,
//! endpoint) and a thin tokio driver. See `docs/decisions.md` for why it is
//! our own and not rsipstack or ezk.
//!
//! Layering (RFC 3261 §5): [`message`] parses and prints (§7, §20, §25),
//! [`validate`] is the UAS front door (§8.2, RFC 4475), [`transaction`] holds
//! the four §17 state machines, [`endpoint`] is the transaction user: dialogs
//! (§12–§15) and calls, driven by `(Instant, input)` like str0m/quinn-proto.

pub mod digest;
pub mod sdp;
mod auth;
pub mod dialog;
pub mod driver;
pub mod endpoint;
pub mod error;
mod types;
mod uas;
pub mod header;
pub mod message;
pub mod transaction;
pub mod uri;
pub mod validate;

pub use endpoint::{
    CallRef, Credentials, Endpoint, EndpointConfig, IncomingCall, Input, OutboundCall, SipEvent, Transmit,
    Transport,
};
pub use driver::{SipClient, SipCommand, SipHandle};
pub use error::{ParseError, SipError};
pub use message::{Framing, Message, Method, RawMessage, StartLine};
pub use uri::{SipUri, Uri};
