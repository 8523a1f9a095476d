//! orderline: a SIP/RTP telephony engine for cash-on-delivery commerce.
//!
//! Module map (one job each, see `DESIGN.md`):
//! - [`dtmf`]   in-band detector, RFC 4733, tone generator, squelch (sans-IO)
//! - [`sip`]    strict parser, transactions, dialogs, digest, SDP (sans-IO core + tokio driver)
//! - [`media`]  RTP, G.711, pacing, prompt playback
//! - [`ivr`]    call flows as state machines over call events (sans-IO)
//! - [`call`]   one call: SIP leg + media + flow, driven by tokio
//! - [`config`] the TOML configuration contract
//! - [`amd`]    `orderline amd classify`: WAV front end of the `orderline-amd` detector
//! - [`api`]    merchant HTTP API, webhook delivery; [`metrics`] for /metrics

pub mod amd;
pub mod api;
pub mod audio;
pub mod call;
pub mod config;
pub mod daemon;
pub mod dialer;
pub mod dtmf;
pub mod ivr;
pub mod media;
pub mod metrics;
pub mod payments;
pub mod sip;
pub mod store;
