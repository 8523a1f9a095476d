//! The SIP layer: a strict sans-IO core (message, transaction, dialog,
//! endpoint) and a thin tokio driver. See `docs/decisions.md` for why it is
//! our own and not rsipstack or ezk.
//!
//! Layering (RFC 3261 §5): [`message`] parses and prints (§7, §20, §25),
//! [`validate`] is the UAS front door (§8.2, RFC 4475), [`transaction`] holds
//! the four §17 state machines, [`endpoint`] is the transaction user: dialogs
//! (§12–§15) and calls, driven by `(Instant, input)` like str0m/quinn-proto.
//!
//! The call layer uses the driver:
//!
//! ```no_run
//! # async fn demo() -> Result<(), orderline::sip::SipError> {
//! use orderline::sip::{EndpointConfig, OutboundCall, SipCommand, SipEvent, SipHandle, Transport};
//! let mut sip = SipHandle::bind(EndpointConfig::default()).await?;
//! let (call, mut events) = sip
//!     .invite(OutboundCall {
//!         request_uri: "sip:03001234567@127.0.0.1:5070".into(),
//!         from_user: "orderline".into(),
//!         to_user: "03001234567".into(),
//!         sdp_offer: b"v=0\r\n...".to_vec(),
//!         credentials: None,
//!         outbound_proxy: None,
//!         transport: Transport::Udp,
//!     })
//!     .await?;
//! while let Some(ev) = events.recv().await {
//!     match ev {
//!         SipEvent::Answered { sdp, .. } => { /* start RTP toward `sdp` */ let _ = sdp; }
//!         SipEvent::Failed { status, .. } => { let _ = status; break; }
//!         SipEvent::Ended { .. } => break,
//!         _ => {}
//!     }
//! }
//! sip.command(SipCommand::Bye(call)).await.ok();
//! while let Some((id, incoming, _events)) = sip.next_incoming().await {
//!     let _ = incoming.sdp;
//!     sip.command(SipCommand::Reject { call: id, status: 486 }).await?;
//! }
//! sip.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
pub mod dialog;
pub mod digest;
pub mod driver;
pub mod endpoint;
pub mod error;
pub mod header;
pub mod message;
pub mod sdp;
pub mod transaction;
mod types;
mod uac;
mod uas;
pub mod uri;
pub mod registrar;
pub mod validate;

pub use driver::{RegistrarLink, SipClient, SipCommand, SipHandle};
pub use uas::InboundRequest;
pub use endpoint::{
    CallRef, Credentials, Endpoint, EndpointConfig, IncomingCall, Input, OutboundCall, SipEvent,
    Transmit, Transport,
};
pub use error::{ParseError, SipError};
pub use message::{Framing, Message, Method, RawMessage, StartLine};
pub use uri::{SipUri, Uri};

#[cfg(test)]
mod sans_io {
    /// The core never reads a clock or touches tokio: time and octets are passed in.
    #[test]
    fn core_modules_read_no_clock_and_use_no_tokio() {
        let core = [
            ("auth.rs", include_str!("auth.rs")),
            ("dialog.rs", include_str!("dialog.rs")),
            ("endpoint.rs", include_str!("endpoint.rs")),
            ("error.rs", include_str!("error.rs")),
            ("header.rs", include_str!("header.rs")),
            ("message.rs", include_str!("message.rs")),
            ("transaction.rs", include_str!("transaction.rs")),
            ("types.rs", include_str!("types.rs")),
            ("uac.rs", include_str!("uac.rs")),
            ("uas.rs", include_str!("uas.rs")),
            ("uri.rs", include_str!("uri.rs")),
            ("validate.rs", include_str!("validate.rs")),
            ("registrar.rs", include_str!("registrar.rs")),
            ("registrar/bindings.rs", include_str!("registrar/bindings.rs")),
            ("registrar/nonce.rs", include_str!("registrar/nonce.rs")),
        ];
        for (name, src) in core {
            // Unit tests may take `Instant::now()` as their simulated start.
            let code = src.split("#[cfg(test)]").next().unwrap_or(src);
            for banned in ["tokio", "Instant::now", "SystemTime", "std::net::UdpSocket", "thread_rng"] {
                assert!(!code.contains(banned), "{name} uses {banned}");
            }
        }
    }
}
