//! The agents' sessions move their agents on the floor (issue #10): the
//! session leg's events ([`SessionEvent`], published by the desk) become
//! [`AgentInput`]s for [`Floor::apply`], so logging in, the phone
//! answering, customers connected into the live leg, and the leg going
//! down show in `GET /v1/agents`, the SSE stream and the agent log.
//!
//! The mapping is a pure function ([`inputs`]); the task around it only
//! reads the broadcast and applies, so the rules stay in the sans-IO
//! agent machine and in one place here.

use orderline_dialer::agents::{AgentInput, AgentState};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::call::live::{LegCause, SessionEvent};
use crate::clock::Clock;
use crate::floor::Floor;

/// The floor inputs one session event stands for, given the agent's state
/// now. A customer connected into the session of a `ready` agent who was
/// not reserved for it (a click-to-call) is reserved first, so the agent
/// log reads `reserve` → `customer_connected` as for a dialled order; an
/// agent reserved for that very call is only connected.
pub fn inputs(ev: &SessionEvent, state: &AgentState) -> Vec<AgentInput> {
    match ev {
        SessionEvent::Connecting => vec![AgentInput::Login],
        SessionEvent::Up => vec![AgentInput::LegAnswered],
        // Logout over the API is a logout; anything else (the agent hung
        // up, the phone never answered, the leg failed) is the leg ending.
        SessionEvent::Down {
            cause: LegCause::ApiHangup,
        } => vec![AgentInput::Logout],
        SessionEvent::Down { .. } => vec![AgentInput::LegEnded],
        SessionEvent::CustomerConnected { call_id } => {
            let connected = AgentInput::CustomerConnected {
                call: call_id.clone(),
            };
            match state {
                AgentState::Ready => vec![
                    AgentInput::Reserve {
                        call: call_id.clone(),
                    },
                    connected,
                ],
                _ => vec![connected],
            }
        }
        // Still reserved for it: the customer never came through (busy, no
        // answer), since the session reports the connection first. Whoever
        // reserved the agent (the operator dialer) releases them; a
        // wrap-up here would ask a disposition for a call nobody had.
        SessionEvent::CustomerEnded { call_id, .. } if matches!(state, AgentState::Reserved { call } if call == call_id) => {
            Vec::new()
        }
        SessionEvent::CustomerEnded {
            call_id,
            agent_spoke,
            ..
        } => vec![AgentInput::CustomerEnded {
            call: call_id.clone(),
            agent_spoke: *agent_spoke,
        }],
    }
}

/// Apply every session event to the floor until `stop`. A move the rules
/// refuse (a paused agent's click-to-call, which the floor does not count
/// as a dialled customer) is logged at debug and changes nothing.
pub async fn run(
    mut events: broadcast::Receiver<(String, SessionEvent)>,
    floor: Floor,
    clock: Clock,
    stop: CancellationToken,
) {
    loop {
        let (agent, ev) = tokio::select! {
            _ = stop.cancelled() => return,
            got = events.recv() => match got {
                Ok(x) => x,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "floor feed fell behind the session events");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let (state, _) = floor.state(&agent).await;
        for input in inputs(&ev, &state) {
            if let Err(e) = floor.apply(&agent, input, clock.now()).await {
                tracing::debug!(%agent, error = %e, "session event leaves the agent's state alone");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(ev: SessionEvent, state: AgentState) -> Vec<String> {
        inputs(&ev, &state)
            .into_iter()
            .map(|i| format!("{i:?}"))
            .collect()
    }

    #[test]
    fn the_leg_logs_in_answers_and_ends() {
        assert_eq!(
            kinds(SessionEvent::Connecting, AgentState::Offline),
            ["Login"]
        );
        assert_eq!(
            kinds(SessionEvent::Up, AgentState::Connecting),
            ["LegAnswered"]
        );
        let down = |cause| SessionEvent::Down { cause };
        assert_eq!(
            kinds(down(LegCause::ApiHangup), AgentState::Ready),
            ["Logout"]
        );
        for cause in [LegCause::Hangup, LegCause::NoAnswer, LegCause::Error] {
            assert_eq!(kinds(down(cause), AgentState::Ready), ["LegEnded"]);
        }
    }

    #[test]
    fn a_customer_is_reserved_only_when_the_agent_was_not() {
        let ev = || SessionEvent::CustomerConnected {
            call_id: "c1".into(),
        };
        assert_eq!(
            kinds(ev(), AgentState::Ready),
            [
                r#"Reserve { call: "c1" }"#,
                r#"CustomerConnected { call: "c1" }"#
            ]
        );
        assert_eq!(
            kinds(ev(), AgentState::Reserved { call: "c1".into() }),
            [r#"CustomerConnected { call: "c1" }"#]
        );
        let ended = || SessionEvent::CustomerEnded {
            call_id: "c1".into(),
            agent_spoke: false,
            connect_latency: None,
            first_rtp_after: None,
        };
        assert_eq!(
            kinds(ended(), AgentState::InCall { call: "c1".into() }),
            [r#"CustomerEnded { call: "c1", agent_spoke: false }"#]
        );
        assert!(
            kinds(ended(), AgentState::Reserved { call: "c1".into() }).is_empty(),
            "never connected: released by whoever reserved, no wrap-up"
        );
    }
}
