//! Two call legs joined in one task: the agent's phone and the customer
//! (B2BUA media, issue #5). INTERFACE SKELETON — the implementation lands
//! with the bridge work; signatures are the contract the call layer uses.
//!
//! - **Talk**: each side hears the other, transcoded when the legs' laws
//!   differ (PCMU ↔ PCMA, decode to linear then encode). Customer → agent
//!   audio always goes through the DTMF [`Squelch`](crate::dtmf::Squelch)
//!   (40 ms look-ahead), and RFC 4733 telephone-events are never forwarded:
//!   the agent never hears a keypress, in or out of a payment (PCI DSS).
//! - **Secure** (a payment session): the agent hears only a hold tone; the
//!   customer hears only what is played to the customer leg (the prompts);
//!   no customer audio reaches the agent at all.
//!
//! Before the customer leg is connected the agent hears ringback.
//! Digits and playback events of both legs come out of [`BridgeHandle::next_event`].

use std::path::PathBuf;

use super::player::PlayItem;
use super::session::{MediaError, MediaEvent, MediaParams, MediaSession, MediaStats};

/// One leg of a bridged call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Agent,
    Customer,
}

/// What each party hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeMode {
    /// The two parties talk (customer audio squelched of DTMF towards the agent).
    Talk,
    /// Keypad entry: agent on hold tone, customer hears prompts only.
    Secure,
}

/// An event from one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeEvent {
    pub side: Side,
    pub event: MediaEvent,
}

/// Counters of both legs, returned by [`BridgeHandle::stop`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeStats {
    pub agent: MediaStats,
    pub customer: MediaStats,
    /// Customer samples the squelch replaced with silence before the agent heard them.
    pub squelched_samples: u64,
}

/// Starts a bridge task.
pub struct Bridge;

impl Bridge {
    /// Start with the agent leg only (ringback to the agent until
    /// [`BridgeHandle::connect`]).
    pub fn start(agent: MediaSession, params: MediaParams) -> Result<BridgeHandle, MediaError> {
        let _ = (agent, params);
        todo!("media bridge")
    }
}

/// The call layer's handle on a running bridge. Dropping it ends the task.
#[derive(Debug)]
pub struct BridgeHandle {
    _private: (),
}

impl BridgeHandle {
    /// Attach the answered customer leg; the mode becomes [`BridgeMode::Talk`].
    pub async fn connect(&self, customer: MediaSession, params: MediaParams) -> Result<(), MediaError> {
        let _ = (customer, params);
        todo!()
    }

    pub async fn set_mode(&self, mode: BridgeMode) -> Result<(), MediaError> {
        let _ = mode;
        todo!()
    }

    /// Queue prompts on one leg (as [`super::MediaHandle::play`]); a
    /// `PlaybackDone` for that side follows when its queue runs empty.
    pub async fn play(&self, side: Side, items: Vec<PlayItem>) -> Result<(), MediaError> {
        let _ = (side, items);
        todo!()
    }

    /// Barge-in on one leg.
    pub async fn stop_playback(&self, side: Side) -> Result<(), MediaError> {
        let _ = side;
        todo!()
    }

    /// New remote parameters for one leg (re-INVITE).
    pub async fn update_remote(&self, side: Side, params: MediaParams) -> Result<(), MediaError> {
        let _ = (side, params);
        todo!()
    }

    /// Record what this side *sent us* (decoded) to a WAV written at stop.
    pub async fn record(&self, side: Side, path: PathBuf) -> Result<(), MediaError> {
        let _ = (side, path);
        todo!()
    }

    /// Next event from either leg; `None` once the task has ended.
    pub async fn next_event(&mut self) -> Option<BridgeEvent> {
        todo!()
    }

    /// Stop both legs and release their ports.
    pub async fn stop(self) -> BridgeStats {
        todo!()
    }
}
