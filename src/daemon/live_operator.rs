//! Press 3, live (issue #13): the daemon's side of the call layer's
//! [`OperatorDesk`] seam. A confirmation call whose customer pressed 3 asks
//! here while the customer holds; one task per request:
//!
//! 1. the order's mode ([`Dialup::operator_mode`]: the mode it is in, else
//!    the one its status ticks it into, else its project's first — where
//!    the callback would go). No mode, or none of the mode's agents in a
//!    session: [`OperatorAnswer::Nobody`] at once (no pointless wait);
//! 2. otherwise it waits, woken by every floor move, for an agent of the
//!    mode who is `ready` with a free session leg, and reserves them
//!    (`AgentInput::Reserve`, the floor arbitrating against the other
//!    dialers); the call's `operator_wait` bounds the wait (the call drops
//!    its receiver, which ends this task);
//! 3. the seat goes to the call; the answered line comes back through it
//!    and is connected into the agent's session exactly as a predictive
//!    line is ([`Desk::connect_line`]): the order is in flight for the
//!    agent ([`Dialup::take_live`]), the agent call row names the order (the
//!    console pops it), and the agent's disposition settles it.
//!
//! Whatever goes wrong after the reservation frees the agent, and an order
//! whose customer never reached the agent returns to the operators' queue
//! as a callback (`DialResult::Interrupted`, no attempt spent).

use std::sync::Arc;
use std::time::Duration;

use orderline_dialer::agents::{AgentInput, AgentState, Reason};
use orderline_dialer::modes::DialResult;
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

use super::desk::Desk;
use crate::call::line::AnsweredLine;
use crate::call::{Engine, OperatorAnswer, OperatorDesk, OperatorSeat};
use crate::clock::Clock;
use crate::dialup::Dialup;
use crate::floor::Floor;
use crate::store::{NewAgentCall, Store};

/// Without a floor move, look again this often: a session leg coming up
/// is not a floor move of its own.
const RECHECK: Duration = Duration::from_millis(500);

/// Seats operators for press-3 customers. Cheap to clone.
#[derive(Clone)]
pub struct LiveOperators {
    inner: Arc<Inner>,
}

struct Inner {
    dialup: Dialup,
    floor: Floor,
    desk: Desk,
    store: Store,
    engine: Arc<Engine>,
    clock: Clock,
    stop: CancellationToken,
}

impl LiveOperators {
    pub fn new(
        dialup: Dialup,
        floor: Floor,
        desk: Desk,
        store: Store,
        engine: Arc<Engine>,
        stop: CancellationToken,
    ) -> LiveOperators {
        let clock = engine.clock().clone();
        LiveOperators {
            inner: Arc::new(Inner {
                dialup,
                floor,
                desk,
                store,
                engine,
                clock,
                stop,
            }),
        }
    }

    /// One press-3 request, from the mode to the connected call's end.
    async fn serve(self, order: String, mut answer: oneshot::Sender<OperatorAnswer>) {
        let me = &self.inner;
        let Some(agents) = self.agents_for(&order).await else {
            let _ = answer.send(OperatorAnswer::Nobody);
            return;
        };
        let call_id = crate::api::random_id("call_");
        let mut moves = me.floor.subscribe();
        let agent = loop {
            if let Some(agent) = self.reserve(&agents, &call_id).await {
                break agent;
            }
            tokio::select! {
                _ = answer.closed() => return,
                _ = me.stop.cancelled() => return,
                ev = moves.recv() => {
                    if let Err(broadcast::error::RecvError::Closed) = ev {
                        return;
                    }
                }
                _ = tokio::time::sleep(RECHECK) => {}
            }
        };
        tracing::info!(%order, %agent, call = %call_id, "press 3: an operator is reserved");
        let (seat, line) = OperatorSeat::new(agent.clone(), call_id.clone());
        if answer.send(OperatorAnswer::Seat(seat)).is_err() {
            // The customer stopped holding as the operator freed up.
            me.floor.release(&agent, &call_id, me.clock.now()).await;
            return;
        }
        let Ok(customer) = line.await else {
            tracing::info!(%order, %agent, "press 3: the customer did not stay; operator freed");
            me.floor.release(&agent, &call_id, me.clock.now()).await;
            return;
        };
        let line = AnsweredLine::held(customer);
        self.connect(&order, &agent, &call_id, line).await;
    }

    /// The agents of the order's mode, if any of them is in a session.
    async fn agents_for(&self, order: &str) -> Option<Vec<String>> {
        let me = &self.inner;
        let found = match me.store.get_order(order).await {
            Ok(Some(d)) => me.dialup.operator_mode(&d.order).await,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(%order, error = %e, "press 3: order not read; a callback");
                return None;
            }
        };
        let (mode, agents) = match found {
            Ok(Some(m)) => m,
            Ok(None) => {
                tracing::info!(%order, "press 3: the order's project has no call mode; a callback");
                return None;
            }
            Err(e) => {
                tracing::warn!(%order, error = %e, "press 3: no mode; a callback");
                return None;
            }
        };
        if !agents.iter().any(|a| me.desk.in_session(a)) {
            tracing::info!(%order, %mode, "press 3: nobody of the mode is in a session; a callback");
            return None;
        }
        Some(agents)
    }

    /// Reserve the first ready agent of `agents` whose session leg is free.
    async fn reserve(&self, agents: &[String], call_id: &str) -> Option<String> {
        let me = &self.inner;
        for agent in me.floor.ready().await {
            if !agents.contains(&agent) || !me.desk.session_free(&agent) {
                continue;
            }
            let input = AgentInput::Reserve {
                call: call_id.to_string(),
            };
            if me.floor.apply(&agent, input, me.clock.now()).await.is_ok() {
                return Some(agent);
            }
        }
        None
    }

    /// Put the order in flight for `agent`, write the call row and connect
    /// the customer into the agent's session; then follow the call until
    /// the agent's disposition (or the wrap-up's end) is theirs to give.
    async fn connect(&self, order: &str, agent: &str, call_id: &str, line: AnsweredLine) {
        let me = &self.inner;
        let now = me.clock.now();
        if let Err(e) = me.dialup.take_live(order, agent, now).await {
            tracing::warn!(%order, %agent, error = %e, "press 3: order not handed to the operator");
            self.give_up(order, agent, call_id, line, false).await;
            return;
        }
        let phone = match me.store.get_order(order).await {
            Ok(Some(d)) => d.order.phone,
            _ => String::new(),
        };
        let new = NewAgentCall {
            id: call_id.to_string(),
            agent_id: agent.to_string(),
            to: phone
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect(),
            order_id: Some(order.to_string()),
        };
        let call = match me.store.insert_agent_call(&new, now).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(%order, error = %e, "press 3: call row not written");
                self.give_up(order, agent, call_id, line, true).await;
                return;
            }
        };
        let mut ends = me.desk.call_ends();
        let mut moves = me.floor.subscribe();
        if let Err((e, back)) = me.desk.connect_call(&call, line) {
            tracing::warn!(%order, %agent, error = %e, "press 3: the session refused the customer");
            let failed = crate::store::AgentCallUpdate::failed_locally("busy");
            if let Err(e) = me.store.update_agent_call(call_id, &failed, now).await {
                tracing::error!(call = %call_id, error = %e, "could not mark the call failed");
            }
            if let Some(line) = back {
                line.hang_up(&me.engine).await;
            }
            self.release(order, agent, call_id).await;
            return;
        }
        tracing::info!(%order, %agent, call = %call_id, "press 3: customer connected to an operator");
        // The call's end: one that never bridged frees the agent and gives
        // the order back; a wrap-up that ends without a disposition too.
        loop {
            tokio::select! {
                end = ends.recv() => match end {
                    Ok((c, end)) if c == call_id => {
                        if end.failed {
                            self.release(order, agent, call_id).await;
                            return;
                        }
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                ev = moves.recv() => match ev {
                    Ok(ev) if ev.agent_id == agent => {
                        let from_this_call = matches!(&ev.transition.from, AgentState::WrapUp { call } if call == call_id);
                        if from_this_call {
                            if matches!(ev.transition.reason, Reason::WrapUpTimeout | Reason::Logout) {
                                me.dialup.settle(order, agent, DialResult::Dropped, me.clock.now()).await;
                            }
                            return;
                        }
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = me.stop.cancelled() => return,
            }
        }
    }

    /// The customer cannot reach the operator: hang up, free the agent and
    /// give the order back as a callback (`in_flight`: it was taken).
    async fn give_up(
        &self,
        order: &str,
        agent: &str,
        call_id: &str,
        line: AnsweredLine,
        in_flight: bool,
    ) {
        line.hang_up(&self.inner.engine).await;
        if in_flight {
            self.release(order, agent, call_id).await;
        } else {
            let me = &self.inner;
            me.floor.release(agent, call_id, me.clock.now()).await;
            if let Err(e) = me.dialup.callback_now(order, me.clock.now()).await {
                tracing::error!(%order, error = %e, "operator callback not queued");
            }
        }
    }

    /// Free the agent; the order, in flight for them, returns to the
    /// operators' queue as the callback it was (no attempt spent).
    async fn release(&self, order: &str, agent: &str, call_id: &str) {
        let me = &self.inner;
        let now = me.clock.now();
        me.floor.release(agent, call_id, now).await;
        me.dialup
            .settle(order, agent, DialResult::Interrupted, now)
            .await;
    }
}

impl OperatorDesk for LiveOperators {
    fn seek(&self, order_id: &str) -> oneshot::Receiver<OperatorAnswer> {
        let (tx, rx) = oneshot::channel();
        tokio::spawn(self.clone().serve(order_id.to_string(), tx));
        rx
    }
}
