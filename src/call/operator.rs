//! Press 3, live (issue #13): the seam between a confirmation call whose
//! customer asked for a person and whoever seats operators (the daemon's
//! `daemon::live_operator`, which knows the floor, the call modes and the
//! agents' sessions; the call layer knows none of them).
//!
//! The call asks once, when the flow says [`FlowAction::SeekOperator`]
//! (crate::ivr::FlowAction::SeekOperator), and keeps playing "please hold"
//! while the desk looks. The desk answers once: [`OperatorAnswer::Nobody`]
//! (no mode or nobody of it in a session: the callback at once) or an
//! [`OperatorSeat`], an operator reserved for this customer. The call then
//! stops its flow without a BYE and hands the customer over through the
//! seat ([`OperatorSeat::hand_over`], a [`HeldCustomer`]); the desk connects
//! it into the operator's session as a predictive line is.
//!
//! Cancellation is by dropping: a customer who hangs up while holding, or
//! whose `operator_wait` ran out, drops the receiver (and a seat not handed
//! over), which tells the desk to stop looking and to free the operator it
//! reserved. No reservation outlives the customer's wait.

use tokio::sync::{mpsc, oneshot};

use crate::media::MediaSession;
use crate::sip::sdp::{LocalMedia, RemoteMedia};
use crate::sip::{CallRef, SipEvent};

/// A robo-call's customer as its flow leaves them for an operator: the
/// dialog (its events still coming), the media sockets released from the
/// flow's media task, the answer and our offer. The desk makes it a
/// [`super::line::AnsweredLine`] (`AnsweredLine::held`), which is what a
/// session takes; this file stays below the line and the engine.
pub struct HeldCustomer {
    pub(crate) call: CallRef,
    pub(crate) events: mpsc::Receiver<SipEvent>,
    pub(crate) session: MediaSession,
    pub(crate) remote: RemoteMedia,
    pub(crate) local: LocalMedia,
}

impl std::fmt::Debug for HeldCustomer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldCustomer")
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

/// Whoever can seat an operator for a robo-call customer (see the module docs).
pub trait OperatorDesk: Send + Sync {
    /// Start looking for a ready operator working `order_id`'s mode while
    /// its customer holds. The answer comes once on the receiver; dropping
    /// the receiver withdraws the request.
    fn seek(&self, order_id: &str) -> oneshot::Receiver<OperatorAnswer>;
}

/// The desk's answer to [`OperatorDesk::seek`].
#[derive(Debug)]
pub enum OperatorAnswer {
    /// Nobody can take the call (the order's mode has no operator in a
    /// session, or the order has no mode): no point holding.
    Nobody,
    /// An operator is reserved for this customer.
    Seat(OperatorSeat),
}

/// An operator reserved for one customer. Hand the line over with
/// [`OperatorSeat::hand_over`]; dropping the seat frees the operator.
#[derive(Debug)]
pub struct OperatorSeat {
    /// The reserved agent.
    pub agent_id: String,
    /// The agent call the customer will be (its row is written by the desk).
    pub call_id: String,
    line: oneshot::Sender<Box<HeldCustomer>>,
}

impl OperatorSeat {
    /// A seat for `agent_id`'s call `call_id`, and where the desk receives
    /// the customer's line (an error there: the seat was dropped).
    pub fn new(
        agent_id: String,
        call_id: String,
    ) -> (OperatorSeat, oneshot::Receiver<Box<HeldCustomer>>) {
        let (line, rx) = oneshot::channel();
        (
            OperatorSeat {
                agent_id,
                call_id,
                line,
            },
            rx,
        )
    }

    /// Give the held customer to the desk. `false`: the desk stopped
    /// waiting (shutting down); the call is the caller's to end.
    pub(crate) fn hand_over(self, customer: HeldCustomer) -> bool {
        self.line.send(Box::new(customer)).is_ok()
    }
}
