//! The API's door to the call layer, and the hub that carries a payment's
//! live progress to its SSE streams.
//!
//! The API stores rows first and then asks the call layer to act
//! ([`CallControl`]); the call layer moves the rows along in the store and
//! announces each change on the [`PaymentHub`]. An SSE stream subscribes to
//! the hub *before* it reads the stored steps, so nothing falls in between.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

pub use crate::payments::PaymentRequest;
use crate::store::{PaymentStatus, PaymentStep};

/// What the API asks of the call layer (`daemon::desk` implements it).
/// Every method returns at once: the work happens in the call's own task.
pub trait CallControl: Send + Sync + 'static {
    /// Ring the agent, then the customer. The call row is already stored
    /// (`dialing_agent`).
    fn dial(&self, req: DialRequest) -> Result<(), ControlError>;
    /// Start the caller's keypad flow. The payment row is already stored
    /// (`pending`).
    fn start_payment(&self, req: PaymentRequest) -> Result<(), ControlError>;
    /// The agent pressed "X": the API has already moved the payment
    /// `pending` → `cancelled` (and written its note and webhook); stop the
    /// flow and give the caller back to the agent.
    fn payment_cancelled(&self, call_id: &str, payment_id: &str);
    /// Hang up both legs (cause `api_hangup`).
    fn hang_up(&self, call_id: &str) -> Result<(), ControlError>;
    /// The agent's registered phones (issue #10), most recently refreshed
    /// first; empty for an agent with a fixed `sip_uri`.
    fn registrations(&self, _agent_id: &str) -> Vec<Registration> {
        Vec::new()
    }
    /// An agent created over the API registers its phone with these digest
    /// credentials (issue #10): the registrar takes the account at once.
    /// `false` when it cannot (no registrar, or the user is another agent's);
    /// the stored row is read again at the next start either way.
    fn add_registering_agent(&self, _agent_id: &str, _sip: &crate::store::SipCredentials) -> bool {
        false
    }
    /// Log the agent in (issue #10): call its phone and keep the leg up.
    /// Customer calls for it are then connected into that leg.
    fn start_session(&self, _req: SessionRequest) -> Result<(), ControlError> {
        Err(ControlError::Unavailable)
    }
    /// Log the agent out (BYE; a customer on the line is hung up first).
    fn end_session(&self, _agent_id: &str) -> Result<(), ControlError> {
        Err(ControlError::NoSession)
    }
    /// The agent's session as it stands, if it has one.
    fn session(&self, _agent_id: &str) -> Option<SessionView> {
        None
    }
}

/// An agent to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRequest {
    pub agent_id: String,
    /// The agent's static `sip_uri` (empty for an agent that registers).
    pub agent_uri: String,
    /// The stored agent's `srtp` (issue #14): SDES-SRTP on the session leg.
    pub agent_srtp: crate::config::SrtpMode,
}

/// An agent's session as `GET /v1/agents/{id}/session` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// `connecting`, `up` or `in_call`.
    pub state: &'static str,
    /// The SIP URI the session called.
    pub target: String,
    /// The customer call connected into the session now.
    pub call_id: Option<String>,
    /// Customer calls served since login.
    pub customers: u64,
    /// The last customer call's connect timing.
    pub last_connect: Option<ConnectTiming>,
}

/// How fast one customer was connected into a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTiming {
    pub call_id: String,
    /// The customer's 200 OK to the first agent-leg packet carrying the
    /// customer's sound (µs).
    pub latency_us: u64,
    /// The 200 OK to the customer's first RTP packet (µs): the far end's share.
    pub first_rtp_us: Option<u64>,
}

/// One registered contact of an agent's phone, as `GET /v1/agents` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub contact: String,
    /// `ip:port` the REGISTER came from (where calls are sent).
    pub source: String,
    pub transport: &'static str,
    pub expires_in_s: u64,
    pub user_agent: Option<String>,
}

/// A call to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialRequest {
    pub call_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub agent_uri: String,
    /// The stored agent's `srtp` (issue #14): SDES-SRTP on the agent's leg
    /// when one is rung (not when the call joins a live session's leg).
    pub agent_srtp: crate::config::SrtpMode,
    pub to: String,
    pub order_id: Option<String>,
}

/// Why the call layer refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// 409: the call is not (or no longer) connected.
    #[error("call is not connected")]
    NotLive,
    /// 409: the call is busy with something else (e.g. a payment running).
    #[error("call is busy")]
    Busy,
    /// 503: the call layer cannot take it (shutting down, at capacity).
    #[error("call layer unavailable")]
    Unavailable,
    /// 503: the agent's phone registers with us and has no live binding.
    #[error("the agent's phone is not registered")]
    NotRegistered,
    /// 409: the agent is already logged in.
    #[error("the agent already has a session")]
    SessionExists,
    /// 404: the agent is not logged in.
    #[error("the agent has no session")]
    NoSession,
    /// 422: there is nowhere to call the agent; the text says why.
    #[error("{0}")]
    NoTarget(&'static str),
}

/// One change of a payment, as the call layer announces it after writing
/// it to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentUpdate {
    Step(PaymentStep),
    Status(PaymentStatus),
    /// The payment ended and `finish_payment` has committed: read the row.
    Finished,
}

/// How many updates a slow SSE client may fall behind before it re-reads
/// the store (a payment has a few dozen steps at most).
const CHANNEL_CAPACITY: usize = 64;

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<PaymentUpdate>>>>;

/// Payment id → broadcast channel of its updates. A channel exists while
/// someone listens: it is made on [`PaymentHub::subscribe`], removed when
/// the last subscription drops or when [`PaymentUpdate::Finished`] is
/// published. An update published while nobody listens is dropped — a
/// stream that starts later reads it from the store.
#[derive(Debug, Default)]
pub struct PaymentHub {
    channels: Channels,
}

impl PaymentHub {
    pub fn new() -> PaymentHub {
        PaymentHub::default()
    }

    /// Listen to a payment's updates from now on.
    pub fn subscribe(&self, payment_id: &str) -> PaymentSubscription {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let rx = channels
            .entry(payment_id.to_string())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe();
        PaymentSubscription {
            rx,
            channels: self.channels.clone(),
            payment_id: payment_id.to_string(),
        }
    }

    /// Announce an update to the payment's listeners (after the store has it).
    pub fn publish(&self, payment_id: &str, update: PaymentUpdate) {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let finished = update == PaymentUpdate::Finished;
        if let Some(tx) = channels.get(payment_id) {
            // An error only means nobody listens any more.
            let _ = tx.send(update);
        }
        if finished {
            // Receivers still get what was sent, then `Closed`.
            channels.remove(payment_id);
        }
    }

    /// Payments with a live channel (for tests and metrics).
    pub fn channels(&self) -> usize {
        self.channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

/// A listener on one payment; dropping the last one frees the channel.
#[derive(Debug)]
pub struct PaymentSubscription {
    rx: broadcast::Receiver<PaymentUpdate>,
    channels: Channels,
    payment_id: String,
}

impl PaymentSubscription {
    /// The next update; `Lagged` if this listener fell more than the
    /// channel's capacity behind (re-read the store), `Closed` after
    /// `Finished` was published.
    pub async fn recv(&mut self) -> Result<PaymentUpdate, broadcast::error::RecvError> {
        self.rx.recv().await
    }
}

impl Drop for PaymentSubscription {
    fn drop(&mut self) {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        // `self.rx` still counts here: it is dropped after this body.
        let last = channels
            .get(&self.payment_id)
            .is_some_and(|tx| tx.receiver_count() <= 1 && self.rx.same_channel(&tx.subscribe()));
        if last {
            channels.remove(&self.payment_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn channels_live_while_someone_listens() {
        let hub = PaymentHub::new();
        hub.publish("pay_1", PaymentUpdate::Status(PaymentStatus::InProgress));
        assert_eq!(hub.channels(), 0, "publishing alone makes no channel");
        let mut a = hub.subscribe("pay_1");
        let b = hub.subscribe("pay_1");
        hub.publish("pay_1", PaymentUpdate::Status(PaymentStatus::InProgress));
        assert_eq!(
            a.recv().await,
            Ok(PaymentUpdate::Status(PaymentStatus::InProgress))
        );
        drop(b);
        assert_eq!(hub.channels(), 1);
        drop(a);
        assert_eq!(hub.channels(), 0, "the last listener frees it");

        let mut c = hub.subscribe("pay_2");
        hub.publish("pay_2", PaymentUpdate::Finished);
        assert_eq!(hub.channels(), 0, "Finished frees it");
        assert_eq!(c.recv().await, Ok(PaymentUpdate::Finished));
        assert_eq!(c.recv().await, Err(broadcast::error::RecvError::Closed));
        let _d = hub.subscribe("pay_2");
        drop(c);
        assert_eq!(
            hub.channels(),
            1,
            "an old subscription does not free a new channel"
        );
    }
}
