//! Media: RTP sessions, G.711, reordering, pacing and prompt playback.
//!
//! Sans-IO cores, each a plain struct fed packets and timestamps:
//! - [`g711`]   µ-law / A-law codecs (ITU-T G.711, RFC 3551 §4.5.14)
//! - [`rtp`]    packet build/parse (RFC 3550 §5), symmetric-RTP latch (RFC 4961)
//! - [`jitter`] fixed-slot reorder buffer (loss, duplicates, late, wrap)
//! - [`pacer`]  absolute-deadline 20 ms frame clock
//! - [`player`] prompt/silence/tone queue yielding one frame at a time
//! - [`digits`] in-band vs RFC 4733 de-duplication
//! - [`ring`]   fixed sample FIFO between two legs' clocks (bridge)
//! - [`say`]    numbers and amounts as prompt names (en, fr, ar, ur)
//! - [`prompt`] prompt file cache with locale fallback and overrides
//! - [`wavlaw`] reader for G.711 (µ-law/A-law) WAV prompt files
//! - [`watch`]  media timeout: a far end silent too long has gone
//! - [`comfort`] what a session's agent hears between customers
//!
//! The tokio edge is [`session`] (the bound sockets) and `task` (the
//! handle and the loop): one task per call owning its sockets and driving
//! its per-leg state, the sans-IO `Leg` (`leg`: datagram in, packets and
//! events out). A [`bridge`] joins two legs in one task; its routing core
//! (squelch, rings, ringback and hold tone) is the sans-IO `patch`.
//! Imports run one way (issue #9): `task`/`bridge` → `session`/`leg`/`patch`
//! → `rtp`/`g711`/`jitter`/`player`, with `error` at the bottom.
//! This module knows nothing of SIP or orders; the call layer hands it the
//! remote address and codec from SDP ([`MediaParams`]).

pub mod bridge;
pub mod comfort;
pub mod digits;
mod dtmf_hook;
mod error;
pub mod g711;
pub mod jitter;
mod leg;
pub mod pacer;
mod patch;
pub mod player;
pub mod ports;
pub mod prompt;
pub mod ring;
pub mod rtp;
pub mod say;
pub mod session;
mod task;
pub mod tts;
pub mod watch;
pub mod wavlaw;

pub use bridge::{Bridge, BridgeEvent, BridgeHandle, BridgeStats, CustomerSpan};
pub use comfort::IdleSound;
pub use error::MediaError;
pub use g711::Law;
pub use leg::{MediaEvent, MediaParams, MediaStats};
pub use patch::{BridgeMode, Side};
pub use player::{PlayItem, PromptPlayer};
pub use ports::{PortAllocator, PortLease};
pub use prompt::{PromptCache, PromptError};
pub use session::MediaSession;
pub use task::MediaHandle;
pub use watch::{MediaTimeouts, MediaWatch};
