//! The operator dialer, one line per ready agent (issue #11): whenever an
//! agent is `ready` with its session leg up, take the next order the agent
//! may work ([`Dialup::pick`]), reserve the agent for it, and dial the
//! customer straight into the live leg (the desk's session path: the phone
//! does not ring). The call's end and the agent's disposition then settle
//! the order in its queue ([`Dialup::finish_by`]): put off after no answer
//! or busy, moved on by the disposition, booked as a callback.
//!
//! Who settles what:
//! - a customer never connected: this task, from the call's end (the agent
//!   is released back to `ready`);
//! - a connected customer: the agent's disposition (`POST
//!   /v1/calls/{id}/disposition`, in the API); a wrap-up that runs out
//!   without one settles the order here as `dropped`, so it is put off
//!   like an unanswered call rather than left in flight;
//! - a daemon stop: nothing here; the next start releases every order left
//!   in flight without costing an attempt (`Dialup::start`).
//!
//! Preview pacing (a mode with `pacing = "preview"`): the pick reserves the
//! agent and offers the order ([`Previews`]) instead of dialling; the
//! agent's Call dials it exactly as above under the offered call id, Skip
//! returns it without an attempt and not straight back to that agent
//! ([`Dialup::skip`]); an agent who logs out or loses the leg while an
//! order is offered gives it back as interrupted.
//!
//! Predictive pacing (several lines per agent, issue #12) builds on the
//! same pieces and is not wired here yet.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orderline_dialer::agents::{AgentInput, AgentState, Reason};
use orderline_dialer::modes::{DialResult, Pacing, Pick};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::desk::Desk;
use crate::api::{CallControl, DialRequest};
use crate::call::live::{CallEnd, LegCause};
use crate::clock::Clock;
use crate::dialup::{Decision, Dialup, Offer, PreviewAction, PreviewError};
use crate::floor::{Floor, FloorEvent};
use crate::store::{AgentCallUpdate, NewAgentCall, Store};

/// Without an event, look again this often: orders put off or booked for
/// later fall due with time alone.
const TICK: Duration = Duration::from_secs(1);

/// A line the dialer placed and has not settled yet.
#[derive(Debug, Clone)]
struct Line {
    order: String,
    agent: String,
}

pub struct Progressive {
    dialup: Dialup,
    floor: Floor,
    desk: Desk,
    store: Store,
    clock: Clock,
    /// Calls ringing or talking, by call id.
    live: HashMap<String, Line>,
    /// Calls connected and over, waiting for the agent's disposition.
    wrapping: HashMap<String, Line>,
}

/// What an unanswered (never bridged) call means for its order.
pub fn unanswered_result(end: &CallEnd) -> DialResult {
    match end.customer_cause {
        Some(LegCause::Busy) => DialResult::Busy,
        Some(LegCause::NoAnswer) => DialResult::NoAnswer,
        // We stopped it (shutdown, or the agent's leg went away before the
        // customer answered): not the customer's doing, no attempt spent.
        Some(LegCause::Shutdown | LegCause::Cancelled) | None => DialResult::Interrupted,
        Some(_) => DialResult::Failed,
    }
}

impl Progressive {
    pub fn new(dialup: Dialup, floor: Floor, desk: Desk, store: Store, clock: Clock) -> Self {
        Progressive {
            dialup,
            floor,
            desk,
            store,
            clock,
            live: HashMap::new(),
            wrapping: HashMap::new(),
        }
    }

    /// Dial for ready agents until `stop`. Subscribes before the first
    /// look, so no change between the look and the wait is missed.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut changes = self.floor.subscribe();
        let mut ends = self.desk.call_ends();
        let mut decisions = self.dialup.previews().decisions();
        if decisions.is_none() {
            tracing::error!(
                "preview decisions are taken by another dialer: Call/Skip will time out"
            );
        }
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
                ev = changes.recv() => match ev {
                    Ok(ev) => self.floor_moved(ev).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "operator dialer fell behind the floor");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                end = ends.recv() => match end {
                    Ok((call, end)) => self.ended(&call, &end).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::error!(missed = n, "operator dialer missed call ends; their orders are released at the next start");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                Some(d) = next_decision(&mut decisions) => self.decided(d).await,
            }
            if stop.is_cancelled() {
                return;
            }
            self.dial_ready().await;
        }
    }

    /// One line for each ready agent with a free session and no line yet.
    async fn dial_ready(&mut self) {
        for agent in self.floor.ready().await {
            if self.live.values().any(|l| l.agent == agent) || !self.desk.session_free(&agent) {
                continue;
            }
            let now = self.clock.now();
            let pick = match self.dialup.pick(&agent, now).await {
                Ok(Some(p)) => p,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(%agent, error = %e, "dial-up pick failed");
                    continue;
                }
            };
            let preview = self.dialup.pacing(&pick.mode) == Some(Pacing::Preview);
            let placed = if preview {
                self.offer(&agent, &pick, now).await
            } else {
                self.place(&agent, &pick, now).await
            };
            if let Err(e) = placed {
                tracing::warn!(%agent, order = %pick.order_id, error = %e, "order not dialled; back to its queue");
                self.settle(&pick.order_id, &agent, DialResult::Interrupted)
                    .await;
            }
        }
    }

    /// Preview: offer the order and reserve the agent under the call id
    /// the call will carry. The offer is up before the reservation, so the
    /// agent's SSE finds it with the `reserved` event.
    async fn offer(&mut self, agent: &str, pick: &Pick, now: DateTime<Utc>) -> anyhow::Result<()> {
        let call_id = crate::api::random_id("call_");
        let previews = self.dialup.previews();
        previews.put(
            agent,
            Offer {
                call_id: call_id.clone(),
                order_id: pick.order_id.clone(),
                mode: pick.mode.clone(),
                subqueue: pick.subqueue,
                attempt: pick.attempt,
                reason: pick.reason,
                offered_at: now,
            },
        );
        let reserve = AgentInput::Reserve {
            call: call_id.clone(),
        };
        if let Err(e) = self.floor.apply(agent, reserve, now).await {
            previews.take(agent, &call_id);
            return Err(e.into());
        }
        tracing::info!(%agent, order = %pick.order_id, call = %call_id, mode = %pick.mode, "order offered in preview");
        Ok(())
    }

    /// The agent pressed Call or Skip on an offer.
    async fn decided(&mut self, d: Decision) {
        let Decision {
            agent,
            offer,
            action,
            reply,
        } = d;
        let result = match self.dialup.previews().take(&agent, &offer.call_id) {
            None => Err(PreviewError::NoOffer(agent.clone())),
            Some(offer) => match action {
                PreviewAction::Call => self.call_offer(&agent, &offer).await,
                PreviewAction::Skip => {
                    let now = self.clock.now();
                    let skipped = self.dialup.skip(&offer.order_id, &agent, now).await;
                    self.release(&agent, &offer.call_id).await;
                    skipped.map_err(|e| PreviewError::Failed(e.to_string()))
                }
            },
        };
        // The API may have given up waiting; nothing to do then.
        let _ = reply.send(result);
    }

    /// Call: dial the offered order under the reserved call id.
    async fn call_offer(&mut self, agent: &str, offer: &Offer) -> Result<(), PreviewError> {
        let now = self.clock.now();
        let dialled = self
            .dial_reserved(agent, &offer.call_id, &offer.order_id, now)
            .await;
        if let Err(e) = &dialled {
            tracing::warn!(%agent, order = %offer.order_id, error = %e, "previewed order not dialled; back to its queue");
            self.release(agent, &offer.call_id).await;
            self.settle(&offer.order_id, agent, DialResult::Interrupted)
                .await;
        }
        dialled.map_err(|e| PreviewError::Failed(e.to_string()))
    }

    /// Progressive: reserve the agent, write the call, dial into the session.
    async fn place(&mut self, agent: &str, pick: &Pick, now: DateTime<Utc>) -> anyhow::Result<()> {
        // Reserved before anything is written or dialled: an agent who
        // paused meanwhile is refused here and leaves no trace of a call.
        let call_id = crate::api::random_id("call_");
        self.floor
            .apply(
                agent,
                AgentInput::Reserve {
                    call: call_id.clone(),
                },
                now,
            )
            .await?;
        let dialled = self
            .dial_reserved(agent, &call_id, &pick.order_id, now)
            .await;
        if dialled.is_err() {
            self.release(agent, &call_id).await;
        }
        dialled
    }

    /// Write call `call_id` for an agent reserved under it and dial the
    /// customer into the session. On an error the caller releases the
    /// agent and the order.
    async fn dial_reserved(
        &mut self,
        agent: &str,
        call_id: &str,
        order_id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let order = self
            .store
            .get_order(order_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("order {order_id} is gone"))?
            .order;
        let row = self
            .store
            .get_agent(agent)
            .await?
            .ok_or_else(|| anyhow::anyhow!("agent {agent} is gone"))?;
        let new = NewAgentCall {
            id: call_id.to_string(),
            agent_id: row.id.clone(),
            to: order.phone.clone(),
            order_id: Some(order.id.clone()),
        };
        let call = self.store.insert_agent_call(&new, now).await?;
        let line = Line {
            order: order.id.clone(),
            agent: agent.to_string(),
        };
        self.live.insert(call.id.clone(), line);
        let req = DialRequest {
            call_id: call.id.clone(),
            agent_id: row.id,
            agent_name: call.agent_name.clone(),
            agent_uri: row.sip_uri,
            agent_srtp: row.srtp,
            to: call.to.clone(),
            order_id: call.order_id.clone(),
        };
        tracing::info!(%agent, order = %order.id, call = %call.id, "dialling for a ready agent");
        if let Err(e) = self.desk.dial(req) {
            self.live.remove(&call.id);
            self.call_failed(&call.id, "unavailable").await;
            return Err(anyhow::anyhow!("the desk refused the call: {e}"));
        }
        Ok(())
    }

    async fn release(&self, agent: &str, call: &str) {
        self.floor.release(agent, call, self.clock.now()).await;
    }

    async fn call_failed(&self, call_id: &str, cause: &str) {
        let failed = AgentCallUpdate::failed_locally(cause);
        if let Err(e) = self
            .store
            .update_agent_call(call_id, &failed, self.clock.now())
            .await
        {
            tracing::error!(call = %call_id, error = %e, "could not mark the call failed");
        }
    }

    /// A line's call ended: unanswered ones settle now and free the agent;
    /// connected ones wait for the disposition.
    async fn ended(&mut self, call: &str, end: &CallEnd) {
        let Some(line) = self.live.remove(call) else {
            return;
        };
        if !end.failed {
            self.wrapping.insert(call.to_string(), line);
            return;
        }
        self.release(&line.agent, call).await;
        self.settle(&line.order, &line.agent, unanswered_result(end))
            .await;
    }

    /// The floor moved: a wrap-up that ended without a disposition settles
    /// its order; a disposition was settled by the API already. An agent
    /// who left a preview offer (logout, leg down) gives the order back.
    async fn floor_moved(&mut self, ev: FloorEvent) {
        if let AgentState::Reserved { call } = &ev.transition.from {
            if let Some(offer) = self.dialup.previews().take(&ev.agent_id, call) {
                self.settle(&offer.order_id, &ev.agent_id, DialResult::Interrupted)
                    .await;
            }
            return;
        }
        let AgentState::WrapUp { call } = &ev.transition.from else {
            return;
        };
        let Some(line) = self.wrapping.remove(call) else {
            return;
        };
        if ev.transition.reason == Reason::WrapUpTimeout || ev.transition.reason == Reason::Logout {
            self.settle(&line.order, &line.agent, DialResult::Dropped)
                .await;
        }
    }

    async fn settle(&self, order: &str, agent: &str, result: DialResult) {
        self.dialup
            .settle(order, agent, result, self.clock.now())
            .await;
    }
}

/// The next decision, or never when there is no channel (so `select!`
/// skips the branch).
async fn next_decision(rx: &mut Option<mpsc::UnboundedReceiver<Decision>>) -> Option<Decision> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::live::EndedBy as Who;

    fn end(customer: Option<LegCause>) -> CallEnd {
        CallEnd {
            failed: true,
            agent_cause: LegCause::Hangup,
            customer_cause: customer,
            ended_by: Who::Customer,
        }
    }

    #[test]
    fn an_unanswered_call_costs_an_attempt_only_when_the_customer_did_it() {
        assert_eq!(
            unanswered_result(&end(Some(LegCause::Busy))),
            DialResult::Busy
        );
        assert_eq!(
            unanswered_result(&end(Some(LegCause::NoAnswer))),
            DialResult::NoAnswer
        );
        assert_eq!(
            unanswered_result(&end(Some(LegCause::Rejected(503)))),
            DialResult::Failed
        );
        for ours in [Some(LegCause::Shutdown), Some(LegCause::Cancelled), None] {
            assert_eq!(unanswered_result(&end(ours)), DialResult::Interrupted);
        }
    }
}
