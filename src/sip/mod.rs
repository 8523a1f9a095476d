//! The SIP layer as the daemon sees it: the sans-IO core from the
//! `orderline-sip` crate (re-exported here, so `orderline::sip::Endpoint` and
//! friends keep their paths), the tokio [`driver`] that owns the sockets, and
//! [`trunk`], which turns the TOML configuration into the core's settings.
//!
//! The core's manifest carries no runtime; see `docs/architecture.md`.
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

mod client;
mod connection;
pub mod dns;
pub mod driver;
mod loggable;
pub mod tls;
pub mod trunk;

pub use orderline_sip::*;

pub use client::{RegistrarLink, SipClient, SipCommand, SipHandle};
pub use tls::SipTls;
pub use trunk::endpoint_config;
