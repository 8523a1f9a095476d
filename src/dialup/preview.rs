//! Preview pacing's offers (issue #11): a mode with `pacing = "preview"`
//! does not dial the picked order at once; the agent is reserved for it and
//! sees it first, then presses Call or Skip.
//!
//! This is the meeting point of the two sides: the operator dialer
//! (`daemon::progressive`) puts an offer here before it reserves the agent
//! (so an SSE reader woken by the reservation finds it), the API shows it
//! (`GET /v1/agents/{id}`, its SSE, `/console`) and sends the agent's
//! decision back ([`Previews::decide`]); the dialer, which owns the lines,
//! carries it out and answers. The queue rules themselves (a skip costs no
//! attempt and is not offered straight back) are sans-IO in
//! `orderline_dialer::modes::skip`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use orderline_dialer::modes::{Reason, Subqueue};
use tokio::sync::{mpsc, oneshot};

/// How long the API waits for the dialer to carry out a decision before
/// answering 503 (it is one store write and a dial, normally milliseconds).
const DECIDE_LIMIT: Duration = Duration::from_secs(10);

/// An order offered to an agent in preview, waiting for Call or Skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The id the call will carry if the agent presses Call; the agent is
    /// `reserved` under it meanwhile.
    pub call_id: String,
    pub order_id: String,
    pub mode: String,
    pub subqueue: Subqueue,
    /// The call's number in the mode if placed (1 for the first).
    pub attempt: u32,
    /// Why this order (callback for the agent, unprocessed, ...).
    pub reason: Reason,
    pub offered_at: DateTime<Utc>,
}

/// The agent's answer to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewAction {
    /// Dial the customer into the agent's session.
    Call,
    /// Pass: the order goes back to its place without an attempt.
    Skip,
}

/// Why a decision was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PreviewError {
    #[error("no order is offered to agent {0}")]
    NoOffer(String),
    #[error("the order offered now is call {offered}, not {asked}")]
    Stale { offered: String, asked: String },
    #[error("the operator dialer is not running")]
    NotRunning,
    #[error("the call could not be placed: {0}")]
    Failed(String),
}

/// A decision on its way to the dialer, with the way back.
#[derive(Debug)]
pub struct Decision {
    pub agent: String,
    pub offer: Offer,
    pub action: PreviewAction,
    pub reply: oneshot::Sender<Result<(), PreviewError>>,
}

/// The offers in force and the decisions' channel. Cheap to clone.
#[derive(Clone)]
pub struct Previews {
    inner: Arc<Inner>,
}

struct Inner {
    /// By agent id: at most one offer per agent (the agent is reserved).
    offers: Mutex<HashMap<String, Offer>>,
    decisions: mpsc::UnboundedSender<Decision>,
    /// Taken once by the dialer that carries decisions out.
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Decision>>>,
}

impl Default for Previews {
    fn default() -> Self {
        Self::new()
    }
}

impl Previews {
    pub fn new() -> Previews {
        let (tx, rx) = mpsc::unbounded_channel();
        Previews {
            inner: Arc::new(Inner {
                offers: Mutex::new(HashMap::new()),
                decisions: tx,
                receiver: Mutex::new(Some(rx)),
            }),
        }
    }

    fn offers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Offer>> {
        // Plain inserts and removes: a panic cannot leave the map half-made.
        self.inner.offers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The order offered to `agent`, if any.
    pub fn offer(&self, agent: &str) -> Option<Offer> {
        self.offers().get(agent).cloned()
    }

    /// Offer `offer` to `agent` (the dialer, before it reserves the agent).
    pub fn put(&self, agent: &str, offer: Offer) {
        self.offers().insert(agent.to_string(), offer);
    }

    /// Withdraw `agent`'s offer if it is for `call_id`.
    pub fn take(&self, agent: &str, call_id: &str) -> Option<Offer> {
        let mut offers = self.offers();
        if offers.get(agent).is_some_and(|o| o.call_id == call_id) {
            return offers.remove(agent);
        }
        None
    }

    /// The decisions, for the one dialer that carries them out; `None`
    /// when taken already.
    pub fn decisions(&self) -> Option<mpsc::UnboundedReceiver<Decision>> {
        self.inner
            .receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// The agent pressed Call or Skip on offer `call_id`: handed to the
    /// dialer, answered once it is carried out. A click on an offer that
    /// is gone or was replaced is refused, so a double click acts once.
    pub async fn decide(
        &self,
        agent: &str,
        call_id: &str,
        action: PreviewAction,
    ) -> Result<Offer, PreviewError> {
        let offer = match self.offer(agent) {
            None => return Err(PreviewError::NoOffer(agent.to_string())),
            Some(o) if o.call_id != call_id => {
                return Err(PreviewError::Stale {
                    offered: o.call_id,
                    asked: call_id.to_string(),
                })
            }
            Some(o) => o,
        };
        let (reply, answer) = oneshot::channel();
        let decision = Decision {
            agent: agent.to_string(),
            offer: offer.clone(),
            action,
            reply,
        };
        self.inner
            .decisions
            .send(decision)
            .map_err(|_| PreviewError::NotRunning)?;
        match tokio::time::timeout(DECIDE_LIMIT, answer).await {
            Ok(Ok(result)) => result.map(|()| offer),
            Ok(Err(_)) | Err(_) => Err(PreviewError::NotRunning),
        }
    }
}
