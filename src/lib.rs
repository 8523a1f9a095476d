//! orderline: a SIP/RTP telephony engine for cash-on-delivery commerce.
//!
//! Module map (one job each; the layers, crates and the path of an order, a
//! payment and a dialled call are in `docs/architecture.md`):
//! - [`dtmf`]   re-exports the sans-IO `orderline-dtmf` crate, plus the WAV front end
//! - [`sip`]    re-exports the sans-IO `orderline-sip` crate, plus the tokio driver
//! - [`media`]  RTP, G.711, pacing, prompt playback
//! - [`ivr`]    call flows as state machines over call events (sans-IO)
//! - [`call`]   one call: SIP leg + media + flow, driven by tokio
//! - [`config`] the TOML configuration contract
//! - [`dialup`] the call-mode queue the daemon runs and the API borrows (durable in the store)
//! - [`floor`]  the agents' floor (states, agent log) the daemon runs and the API borrows
//! - [`clock`]  the one injected wall clock
//! - [`amd`]    `orderline amd classify`: WAV front end of the `orderline-amd` detector
//! - [`api`]    merchant HTTP API, webhook delivery; [`metrics`] for /metrics

pub mod amd;
pub mod api;
pub mod audio;
pub mod call;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod dialer;
pub mod dialup;
pub mod dtmf;
pub mod floor;
pub mod ivr;
pub mod media;
pub mod metrics;
pub mod money;
pub mod payments;
pub mod sip;
pub mod store;
pub mod trial;
pub mod upsell;
