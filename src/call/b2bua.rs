//! The click-to-call B2BUA's rules as a sans-IO state machine.
//!
//! A B2BUA (RFC 3261 §6) here is a UAC on both sides: it rings the agent's
//! phone, then the customer through the trunk, and joins the two legs. Who
//! ended the call, each leg's cause, the CANCEL/200 crossing (§9.1), the ring
//! timeout and the bridged call's hard stop are decided here, from events and
//! a timestamp the driver passes in; the driver (`agent_call.rs`) only turns
//! [`Action`]s into SIP commands and media work and feeds back what happened
//! (the shape of `ivr::ConfirmFlow`, str0m's `handle_input`/`poll_output`).
//! So every rule has a unit test on simulated time below, and the operator
//! dialer's sessions can reuse the same machine.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::live::{CallEnd, EndedBy, LegCause};
use crate::ivr::Outcome;

/// Longest a bridged call may last before both legs get a BYE.
pub const MAX_BRIDGED: Duration = Duration::from_secs(4 * 3600);

/// One side of the B2BUA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    Agent,
    Customer,
}

/// What one leg's SIP dialog reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEvent {
    /// A 2xx; `usable_sdp` is false when its SDP answer could not be used.
    Answered { usable_sdp: bool },
    /// A final non-2xx (408 on Timer B, 487 after our CANCEL).
    Failed { status: u16 },
    /// A confirmed dialog ended by BYE (`by_remote`: the far end sent it).
    Ended { by_remote: bool },
    /// A re-INVITE (hold, codec change) with the new SDP.
    MediaUpdate { sdp: Vec<u8> },
    /// The leg's event stream closed: the SIP endpoint stopped.
    Gone,
    /// No RTP or RTCP from this leg's far end for the media timeout: it
    /// vanished without a BYE (only watched while bridged).
    MediaTimeout,
}

/// Inputs besides the legs' events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Leg(Leg, LegEvent),
    /// The API (or the desk going away) asked to hang up.
    HangUp,
    /// The media asked for by [`Action::StartBridge`] or
    /// [`Action::ConnectCustomer`] is up.
    MediaReady,
    /// Something local failed while carrying out an action (no trunk, no RTP
    /// port, the bridge's media failed): never leave a leg up.
    LocalFailure,
    /// The instant from [`B2bua::poll_timeout`] has come.
    Timeout,
}

/// Milestones the driver reports upward (as `LiveEvent`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Milestone {
    AgentAnswered,
    Bridged,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Bind media and send the INVITE for this leg; a local error is
    /// [`Input::LocalFailure`].
    Invite(Leg),
    /// CANCEL the leg's ringing INVITE (§9.1).
    Cancel(Leg),
    /// BYE the leg's confirmed dialog (§15).
    Bye(Leg),
    /// The agent answered: start the bridge on the agent's media (the agent
    /// hears ringback while the customer rings). Then [`Input::MediaReady`].
    StartBridge,
    /// The customer answered: connect its media into the bridge. Then
    /// [`Input::MediaReady`].
    ConnectCustomer,
    /// Relay a leg's new SDP to the bridge.
    UpdateMedia {
        leg: Leg,
        sdp: Vec<u8>,
    },
    Report(Milestone),
    /// The call is over; nothing follows.
    End(CallEnd),
}

/// Why ringing stopped early, and on whose account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Abandon {
    cause: LegCause,
    by: EndedBy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The agent's phone rings.
    RingingAgent {
        deadline: Instant,
        cancelled: Option<Abandon>,
        timed_out: bool,
    },
    /// The agent answered; the bridge is being started.
    AgentUp,
    /// The agent hears ringback; the customer's phone rings.
    RingingCustomer {
        deadline: Instant,
        cancelled: Option<Abandon>,
        timed_out: bool,
    },
    /// The customer answered; its media is being connected.
    Connecting,
    Bridged {
        hard_stop: Instant,
    },
    Ended,
}

/// One click-to-call, agent first.
#[derive(Debug)]
pub struct B2bua {
    ring_timeout: Duration,
    state: State,
    actions: VecDeque<Action>,
    /// The agent's leg belongs to a nailed-up session (issue #10): it is
    /// never sent BYE or CANCEL from here, it goes back to the session.
    agent_kept: bool,
    /// The agent's leg ended (BYE or its endpoint gone).
    agent_gone: bool,
}

impl B2bua {
    /// A call starting at `now`: the first action is to invite the agent.
    pub fn new(now: Instant, ring_timeout: Duration) -> B2bua {
        let mut b = B2bua {
            ring_timeout,
            state: State::RingingAgent {
                deadline: now + ring_timeout,
                cancelled: None,
                timed_out: false,
            },
            actions: VecDeque::new(),
            agent_kept: false,
            agent_gone: false,
        };
        b.push(Action::Invite(Leg::Agent));
        b
    }

    /// A customer call into an agent's nailed-up session (issue #10): the
    /// agent's leg is already up with its bridge running (the session's),
    /// so the call starts by inviting the customer. The same rules as
    /// click-to-call apply to the customer's leg; the agent's leg is never
    /// hung up from here (it returns to the session when the customer
    /// leaves), and its cause is then [`LegCause::Session`]. If the agent
    /// hangs up, the customer is released as in click-to-call.
    pub fn into_session(now: Instant, ring_timeout: Duration) -> B2bua {
        let mut b = B2bua {
            ring_timeout,
            state: State::RingingCustomer {
                deadline: now + ring_timeout,
                cancelled: None,
                timed_out: false,
            },
            actions: VecDeque::new(),
            agent_kept: true,
            agent_gone: false,
        };
        b.push(Action::Report(Milestone::AgentAnswered));
        b.push(Action::Invite(Leg::Customer));
        b
    }

    /// Queue an action; a session's agent leg is never hung up here.
    fn push(&mut self, action: Action) {
        if self.agent_kept && matches!(action, Action::Bye(Leg::Agent) | Action::Cancel(Leg::Agent))
        {
            return;
        }
        self.actions.push_back(action);
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to feed [`Input::Timeout`]: the ring timeout while a leg rings
    /// (unless already cancelled), the hard stop once bridged.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::RingingAgent {
                deadline,
                cancelled: None,
                timed_out: false,
            }
            | State::RingingCustomer {
                deadline,
                cancelled: None,
                timed_out: false,
            } => Some(deadline),
            State::Bridged { hard_stop } => Some(hard_stop),
            _ => None,
        }
    }

    /// Both legs are joined: payments may start.
    pub fn is_bridged(&self) -> bool {
        matches!(self.state, State::Bridged { .. })
    }

    pub fn is_ended(&self) -> bool {
        self.state == State::Ended
    }

    pub fn handle_input(&mut self, input: Input, now: Instant) {
        if input == Input::LocalFailure {
            // Whatever was queued after the failed action must not run.
            self.actions.clear();
        }
        if matches!(
            input,
            Input::Leg(Leg::Agent, LegEvent::Ended { .. } | LegEvent::Gone)
        ) {
            self.agent_gone = true;
        }
        match self.state {
            State::RingingAgent {
                deadline,
                cancelled,
                timed_out,
            } => self.ringing_agent(input, now, deadline, cancelled, timed_out),
            State::AgentUp => self.agent_up(input, now),
            State::RingingCustomer {
                deadline,
                cancelled,
                timed_out,
            } => self.ringing_customer(input, now, deadline, cancelled, timed_out),
            State::Connecting => self.connecting(input, now),
            State::Bridged { hard_stop } => self.bridged(input, now, hard_stop),
            State::Ended => {}
        }
    }

    fn end(&mut self, mut end: CallEnd) {
        if self.agent_kept && !self.agent_gone {
            end.agent_cause = LegCause::Session;
        }
        self.push(Action::End(end));
        self.state = State::Ended;
    }

    /// A call that never got both legs joined.
    fn end_failed(
        &mut self,
        agent_cause: LegCause,
        customer_cause: Option<LegCause>,
        ended_by: EndedBy,
    ) {
        self.end(CallEnd {
            failed: true,
            agent_cause,
            customer_cause,
            ended_by,
        });
    }

    fn ringing_agent(
        &mut self,
        input: Input,
        now: Instant,
        deadline: Instant,
        cancelled: Option<Abandon>,
        timed_out: bool,
    ) {
        let set = |cancelled, timed_out| State::RingingAgent {
            deadline,
            cancelled,
            timed_out,
        };
        match input {
            Input::Leg(Leg::Agent, LegEvent::Answered { usable_sdp }) => {
                if let Some(a) = cancelled {
                    // The 200 crossed our CANCEL (RFC 3261 §9.1): end it with BYE.
                    self.push(Action::Bye(Leg::Agent));
                    self.end_failed(a.cause, None, a.by);
                } else if !usable_sdp {
                    self.push(Action::Bye(Leg::Agent));
                    self.end_failed(LegCause::BadSdp, None, EndedBy::Local);
                } else {
                    self.actions
                        .push_back(Action::Report(Milestone::AgentAnswered));
                    self.push(Action::StartBridge);
                    self.state = State::AgentUp;
                }
            }
            Input::Leg(Leg::Agent, LegEvent::Failed { status }) => match cancelled {
                Some(a) => self.end_failed(a.cause, None, a.by),
                None => self.end_failed(
                    LegCause::from_failure(status, timed_out),
                    None,
                    EndedBy::Local,
                ),
            },
            Input::Leg(Leg::Agent, LegEvent::Gone) | Input::LocalFailure => {
                self.end_failed(LegCause::Error, None, EndedBy::Local);
            }
            Input::HangUp if cancelled.is_none() => {
                self.push(Action::Cancel(Leg::Agent));
                self.state = set(
                    Some(Abandon {
                        cause: LegCause::ApiHangup,
                        by: EndedBy::Api,
                    }),
                    timed_out,
                );
            }
            Input::Timeout if cancelled.is_none() && !timed_out && now >= deadline => {
                self.push(Action::Cancel(Leg::Agent));
                self.state = set(None, true);
            }
            _ => {}
        }
    }

    fn agent_up(&mut self, input: Input, now: Instant) {
        match input {
            Input::MediaReady => {
                self.push(Action::Invite(Leg::Customer));
                self.state = State::RingingCustomer {
                    deadline: now + self.ring_timeout,
                    cancelled: None,
                    timed_out: false,
                };
            }
            Input::LocalFailure => {
                self.push(Action::Bye(Leg::Agent));
                self.end_failed(LegCause::Error, None, EndedBy::Local);
            }
            // The bridge start is synchronous in the driver: nothing else
            // can arrive before MediaReady or LocalFailure.
            _ => {}
        }
    }

    fn ringing_customer(
        &mut self,
        input: Input,
        now: Instant,
        deadline: Instant,
        cancelled: Option<Abandon>,
        timed_out: bool,
    ) {
        let set = |cancelled, timed_out| State::RingingCustomer {
            deadline,
            cancelled,
            timed_out,
        };
        match input {
            Input::Leg(Leg::Customer, LegEvent::Answered { usable_sdp }) => {
                if let Some(a) = cancelled {
                    self.push(Action::Bye(Leg::Customer));
                    self.abandoned(a);
                } else if !usable_sdp {
                    self.push(Action::Bye(Leg::Customer));
                    self.push(Action::Bye(Leg::Agent));
                    self.end_failed(LegCause::Hangup, Some(LegCause::BadSdp), EndedBy::Local);
                } else {
                    self.push(Action::ConnectCustomer);
                    self.state = State::Connecting;
                }
            }
            Input::Leg(Leg::Customer, LegEvent::Failed { status }) => match cancelled {
                Some(a) => self.abandoned(a),
                None => {
                    self.push(Action::Bye(Leg::Agent));
                    self.end_failed(
                        LegCause::Hangup,
                        Some(LegCause::from_failure(status, timed_out)),
                        EndedBy::Local,
                    );
                }
            },
            Input::Leg(Leg::Customer, LegEvent::Gone) | Input::LocalFailure => {
                self.push(Action::Bye(Leg::Agent));
                self.end_failed(LegCause::Error, None, EndedBy::Local);
            }
            // While the customer rings, only the end of the agent's leg matters.
            Input::Leg(Leg::Agent, ev @ (LegEvent::Ended { .. } | LegEvent::Gone))
                if cancelled.is_none() =>
            {
                let a = match ev {
                    LegEvent::Ended { by_remote: true } => Abandon {
                        cause: LegCause::Hangup,
                        by: EndedBy::Agent,
                    },
                    _ => Abandon {
                        cause: LegCause::Shutdown,
                        by: EndedBy::Local,
                    },
                };
                self.push(Action::Cancel(Leg::Customer));
                self.state = set(Some(a), timed_out);
            }
            Input::HangUp if cancelled.is_none() => {
                self.push(Action::Cancel(Leg::Customer));
                self.state = set(
                    Some(Abandon {
                        cause: LegCause::ApiHangup,
                        by: EndedBy::Api,
                    }),
                    timed_out,
                );
            }
            Input::Timeout if cancelled.is_none() && !timed_out && now >= deadline => {
                self.push(Action::Cancel(Leg::Customer));
                self.state = set(None, true);
            }
            _ => {}
        }
    }

    /// The customer's ringing was cancelled because of `a`: the customer
    /// never answered; the agent's leg ends too unless it is the one gone.
    fn abandoned(&mut self, a: Abandon) {
        let agent_cause = if a.by == EndedBy::Agent {
            LegCause::Hangup
        } else {
            self.push(Action::Bye(Leg::Agent));
            a.cause
        };
        self.end_failed(agent_cause, Some(LegCause::Cancelled), a.by);
    }

    fn connecting(&mut self, input: Input, now: Instant) {
        match input {
            Input::MediaReady => {
                self.push(Action::Report(Milestone::Bridged));
                self.state = State::Bridged {
                    hard_stop: now + MAX_BRIDGED,
                };
            }
            Input::LocalFailure => {
                self.push(Action::Bye(Leg::Agent));
                self.push(Action::Bye(Leg::Customer));
                self.end_failed(LegCause::Error, None, EndedBy::Local);
            }
            _ => {}
        }
    }

    fn bridged(&mut self, input: Input, now: Instant, hard_stop: Instant) {
        let both = |b: &mut B2bua| {
            b.push(Action::Bye(Leg::Agent));
            b.push(Action::Bye(Leg::Customer));
        };
        let (agent_cause, customer_cause, by) = match input {
            Input::Leg(leg, LegEvent::Ended { by_remote }) => {
                let other = if leg == Leg::Agent {
                    Leg::Customer
                } else {
                    Leg::Agent
                };
                self.push(Action::Bye(other));
                match (by_remote, leg) {
                    (true, Leg::Agent) => (LegCause::Hangup, LegCause::Hangup, EndedBy::Agent),
                    (true, Leg::Customer) => {
                        (LegCause::Hangup, LegCause::Hangup, EndedBy::Customer)
                    }
                    (false, _) => (LegCause::Shutdown, LegCause::Shutdown, EndedBy::Local),
                }
            }
            Input::Leg(leg, LegEvent::MediaUpdate { sdp }) => {
                self.push(Action::UpdateMedia { leg, sdp });
                return;
            }
            // The endpoint stopped under us: that leg is gone with it.
            Input::Leg(Leg::Agent, LegEvent::Gone) => {
                (LegCause::Error, LegCause::Hangup, EndedBy::Local)
            }
            Input::Leg(Leg::Customer, LegEvent::Gone) => {
                (LegCause::Hangup, LegCause::Error, EndedBy::Local)
            }
            Input::HangUp => {
                both(self);
                (LegCause::ApiHangup, LegCause::ApiHangup, EndedBy::Api)
            }
            // A far end gone silent: both legs get BYE (the silent one may
            // still be there, only mute; the other must not wait on it).
            Input::Leg(_, LegEvent::MediaTimeout) => {
                both(self);
                (
                    LegCause::MediaTimeout,
                    LegCause::MediaTimeout,
                    EndedBy::Local,
                )
            }
            Input::LocalFailure => {
                both(self);
                (LegCause::Error, LegCause::Error, EndedBy::Local)
            }
            Input::Timeout if now >= hard_stop => {
                both(self);
                (LegCause::MaxDuration, LegCause::MaxDuration, EndedBy::Local)
            }
            _ => return,
        };
        self.end(CallEnd {
            failed: false,
            agent_cause,
            customer_cause: Some(customer_cause),
            ended_by: by,
        });
    }
}

impl LegCause {
    /// The cause for a leg whose INVITE got a final non-2xx: one mapping
    /// with the robo-call's outcomes ([`Outcome::from_sip_failure`]), so a
    /// 487 means "no answer" on both paths; our own ring timeout's CANCEL
    /// is always "no answer".
    pub fn from_failure(status: u16, we_timed_out: bool) -> LegCause {
        if we_timed_out {
            return LegCause::NoAnswer;
        }
        match Outcome::from_sip_failure(status) {
            Outcome::Busy => LegCause::Busy,
            Outcome::NoAnswer => LegCause::NoAnswer,
            _ => LegCause::Rejected(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RING: Duration = Duration::from_secs(30);

    fn drain(b: &mut B2bua) -> Vec<Action> {
        std::iter::from_fn(|| b.poll_action()).collect()
    }

    fn answered() -> LegEvent {
        LegEvent::Answered { usable_sdp: true }
    }

    fn end_of(actions: &[Action]) -> CallEnd {
        match actions.last() {
            Some(Action::End(e)) => e.clone(),
            other => panic!("expected End last, got {other:?} in {actions:?}"),
        }
    }

    fn failed(agent: LegCause, customer: Option<LegCause>, by: EndedBy) -> CallEnd {
        CallEnd {
            failed: true,
            agent_cause: agent,
            customer_cause: customer,
            ended_by: by,
        }
    }

    fn bridged_end(agent: LegCause, customer: LegCause, by: EndedBy) -> CallEnd {
        CallEnd {
            failed: false,
            agent_cause: agent,
            customer_cause: Some(customer),
            ended_by: by,
        }
    }

    /// A machine whose customer is ringing, at `t0`.
    fn customer_ringing(t0: Instant) -> B2bua {
        let mut b = B2bua::new(t0, RING);
        assert_eq!(drain(&mut b), vec![Action::Invite(Leg::Agent)]);
        b.handle_input(
            Input::Leg(Leg::Agent, answered()),
            t0 + Duration::from_secs(3),
        );
        assert_eq!(
            drain(&mut b),
            vec![
                Action::Report(Milestone::AgentAnswered),
                Action::StartBridge
            ]
        );
        b.handle_input(Input::MediaReady, t0 + Duration::from_secs(3));
        assert_eq!(drain(&mut b), vec![Action::Invite(Leg::Customer)]);
        b
    }

    fn bridged(t0: Instant) -> B2bua {
        let mut b = customer_ringing(t0);
        b.handle_input(
            Input::Leg(Leg::Customer, answered()),
            t0 + Duration::from_secs(10),
        );
        assert_eq!(drain(&mut b), vec![Action::ConnectCustomer]);
        assert!(!b.is_bridged(), "not bridged before the media is connected");
        b.handle_input(Input::MediaReady, t0 + Duration::from_secs(10));
        assert_eq!(drain(&mut b), vec![Action::Report(Milestone::Bridged)]);
        assert!(b.is_bridged());
        b
    }

    #[test]
    fn happy_path_agent_first_then_customer_then_bridge() {
        let t0 = Instant::now();
        let b = bridged(t0);
        assert_eq!(
            b.poll_timeout(),
            Some(t0 + Duration::from_secs(10) + MAX_BRIDGED)
        );
    }

    #[test]
    fn agent_ring_timeout_cancels_and_records_no_answer() {
        let t0 = Instant::now();
        let mut b = B2bua::new(t0, RING);
        drain(&mut b);
        assert_eq!(b.poll_timeout(), Some(t0 + RING));
        // A wake-up before the deadline cancels nothing.
        b.handle_input(Input::Timeout, t0 + RING - Duration::from_millis(1));
        assert!(drain(&mut b).is_empty());
        b.handle_input(Input::Timeout, t0 + RING);
        assert_eq!(drain(&mut b), vec![Action::Cancel(Leg::Agent)]);
        assert_eq!(b.poll_timeout(), None, "one CANCEL only");
        b.handle_input(Input::Timeout, t0 + RING * 2);
        assert!(drain(&mut b).is_empty());
        // The 487 to our CANCEL.
        b.handle_input(
            Input::Leg(Leg::Agent, LegEvent::Failed { status: 487 }),
            t0 + RING,
        );
        assert_eq!(
            end_of(&drain(&mut b)),
            failed(LegCause::NoAnswer, None, EndedBy::Local)
        );
        assert!(b.is_ended());
    }

    #[test]
    fn agent_failures_map_like_the_robo_call() {
        for (status, cause) in [
            (486, LegCause::Busy),
            (600, LegCause::Busy),
            (480, LegCause::NoAnswer),
            (408, LegCause::NoAnswer),
            // A 487 we did not ask for is "no answer", as for robo-calls.
            (487, LegCause::NoAnswer),
            (404, LegCause::Rejected(404)),
            (503, LegCause::Rejected(503)),
        ] {
            let t0 = Instant::now();
            let mut b = B2bua::new(t0, RING);
            drain(&mut b);
            b.handle_input(Input::Leg(Leg::Agent, LegEvent::Failed { status }), t0);
            assert_eq!(
                end_of(&drain(&mut b)),
                failed(cause, None, EndedBy::Local),
                "status {status}"
            );
        }
        assert_eq!(LegCause::Rejected(503).to_string(), "rejected:503");
    }

    #[test]
    fn api_hang_up_while_the_agent_rings_cancels_once() {
        let t0 = Instant::now();
        let mut b = B2bua::new(t0, RING);
        drain(&mut b);
        b.handle_input(Input::HangUp, t0);
        assert_eq!(drain(&mut b), vec![Action::Cancel(Leg::Agent)]);
        b.handle_input(Input::HangUp, t0);
        assert!(drain(&mut b).is_empty(), "a second hang-up sends nothing");
        b.handle_input(Input::Leg(Leg::Agent, LegEvent::Failed { status: 487 }), t0);
        assert_eq!(
            end_of(&drain(&mut b)),
            failed(LegCause::ApiHangup, None, EndedBy::Api)
        );
    }

    #[test]
    fn a_200_crossing_our_cancel_gets_a_bye() {
        let t0 = Instant::now();
        let mut b = B2bua::new(t0, RING);
        drain(&mut b);
        b.handle_input(Input::HangUp, t0);
        drain(&mut b);
        b.handle_input(Input::Leg(Leg::Agent, answered()), t0);
        let actions = drain(&mut b);
        assert_eq!(actions[0], Action::Bye(Leg::Agent));
        assert_eq!(
            end_of(&actions),
            failed(LegCause::ApiHangup, None, EndedBy::Api)
        );

        // The same on the customer's leg: BYE it, and BYE the agent.
        let mut b = customer_ringing(t0);
        b.handle_input(Input::HangUp, t0);
        assert_eq!(drain(&mut b), vec![Action::Cancel(Leg::Customer)]);
        b.handle_input(Input::Leg(Leg::Customer, answered()), t0);
        let actions = drain(&mut b);
        assert_eq!(
            actions[..2],
            [Action::Bye(Leg::Customer), Action::Bye(Leg::Agent)]
        );
        assert_eq!(
            end_of(&actions),
            failed(LegCause::ApiHangup, Some(LegCause::Cancelled), EndedBy::Api)
        );
    }

    #[test]
    fn unusable_answer_sdp_hangs_up() {
        let t0 = Instant::now();
        let mut b = B2bua::new(t0, RING);
        drain(&mut b);
        b.handle_input(
            Input::Leg(Leg::Agent, LegEvent::Answered { usable_sdp: false }),
            t0,
        );
        let actions = drain(&mut b);
        assert_eq!(actions[0], Action::Bye(Leg::Agent));
        assert_eq!(
            end_of(&actions),
            failed(LegCause::BadSdp, None, EndedBy::Local)
        );

        let mut b = customer_ringing(t0);
        b.handle_input(
            Input::Leg(Leg::Customer, LegEvent::Answered { usable_sdp: false }),
            t0,
        );
        let actions = drain(&mut b);
        assert_eq!(
            actions[..2],
            [Action::Bye(Leg::Customer), Action::Bye(Leg::Agent)]
        );
        assert_eq!(
            end_of(&actions),
            failed(LegCause::Hangup, Some(LegCause::BadSdp), EndedBy::Local)
        );
    }

    #[test]
    fn agent_hanging_up_while_the_customer_rings_cancels_the_customer() {
        let t0 = Instant::now();
        let mut b = customer_ringing(t0);
        b.handle_input(
            Input::Leg(Leg::Agent, LegEvent::Ended { by_remote: true }),
            t0,
        );
        assert_eq!(drain(&mut b), vec![Action::Cancel(Leg::Customer)]);
        // Nothing more is cancelled or timed out once cancelled.
        assert_eq!(b.poll_timeout(), None);
        b.handle_input(Input::HangUp, t0);
        assert!(drain(&mut b).is_empty());
        b.handle_input(
            Input::Leg(Leg::Customer, LegEvent::Failed { status: 487 }),
            t0,
        );
        let actions = drain(&mut b);
        assert!(
            !actions.contains(&Action::Bye(Leg::Agent)),
            "the agent's leg is already gone"
        );
        assert_eq!(
            end_of(&actions),
            failed(LegCause::Hangup, Some(LegCause::Cancelled), EndedBy::Agent)
        );
    }

    #[test]
    fn shutdown_of_the_agent_leg_while_the_customer_rings() {
        let t0 = Instant::now();
        let mut b = customer_ringing(t0);
        b.handle_input(
            Input::Leg(Leg::Agent, LegEvent::Ended { by_remote: false }),
            t0,
        );
        assert_eq!(drain(&mut b), vec![Action::Cancel(Leg::Customer)]);
        b.handle_input(
            Input::Leg(Leg::Customer, LegEvent::Failed { status: 487 }),
            t0,
        );
        let actions = drain(&mut b);
        assert_eq!(actions[0], Action::Bye(Leg::Agent));
        assert_eq!(
            end_of(&actions),
            failed(
                LegCause::Shutdown,
                Some(LegCause::Cancelled),
                EndedBy::Local
            )
        );
    }

    #[test]
    fn customer_ring_timeout_is_no_answer_and_frees_the_agent() {
        let t0 = Instant::now();
        let mut b = customer_ringing(t0);
        let deadline = t0 + Duration::from_secs(3) + RING;
        assert_eq!(
            b.poll_timeout(),
            Some(deadline),
            "the customer's ring timer starts when it is invited"
        );
        b.handle_input(Input::Timeout, deadline);
        assert_eq!(drain(&mut b), vec![Action::Cancel(Leg::Customer)]);
        b.handle_input(
            Input::Leg(Leg::Customer, LegEvent::Failed { status: 487 }),
            deadline,
        );
        let actions = drain(&mut b);
        assert_eq!(actions[0], Action::Bye(Leg::Agent));
        assert_eq!(
            end_of(&actions),
            failed(LegCause::Hangup, Some(LegCause::NoAnswer), EndedBy::Local)
        );
    }

    #[test]
    fn busy_customer_ends_the_agent_leg() {
        let t0 = Instant::now();
        let mut b = customer_ringing(t0);
        b.handle_input(
            Input::Leg(Leg::Customer, LegEvent::Failed { status: 486 }),
            t0,
        );
        let actions = drain(&mut b);
        assert_eq!(actions[0], Action::Bye(Leg::Agent));
        assert_eq!(
            end_of(&actions),
            failed(LegCause::Hangup, Some(LegCause::Busy), EndedBy::Local)
        );
    }

    #[test]
    fn a_local_failure_never_leaves_a_leg_up_and_drops_queued_work() {
        let t0 = Instant::now();
        // Bridge start failed: the queued customer INVITE must not happen.
        let mut b = B2bua::new(t0, RING);
        drain(&mut b);
        b.handle_input(Input::Leg(Leg::Agent, answered()), t0);
        assert_eq!(
            b.poll_action(),
            Some(Action::Report(Milestone::AgentAnswered))
        );
        assert_eq!(b.poll_action(), Some(Action::StartBridge));
        b.handle_input(Input::LocalFailure, t0);
        let actions = drain(&mut b);
        assert_eq!(actions[0], Action::Bye(Leg::Agent));
        assert_eq!(
            end_of(&actions),
            failed(LegCause::Error, None, EndedBy::Local)
        );

        // No trunk / no RTP port for the customer: the agent's leg ends.
        let mut b = customer_ringing(t0);
        b.handle_input(Input::LocalFailure, t0);
        let actions = drain(&mut b);
        assert_eq!(actions[0], Action::Bye(Leg::Agent));
        assert_eq!(
            end_of(&actions),
            failed(LegCause::Error, None, EndedBy::Local)
        );

        // Connecting the customer's media failed: both legs get a BYE.
        let mut b = customer_ringing(t0);
        b.handle_input(Input::Leg(Leg::Customer, answered()), t0);
        drain(&mut b);
        b.handle_input(Input::LocalFailure, t0);
        let actions = drain(&mut b);
        assert_eq!(
            actions[..2],
            [Action::Bye(Leg::Agent), Action::Bye(Leg::Customer)]
        );
        assert_eq!(
            end_of(&actions),
            failed(LegCause::Error, None, EndedBy::Local)
        );

        // Media failing under a bridged call.
        let mut b = bridged(t0);
        b.handle_input(Input::LocalFailure, t0);
        let actions = drain(&mut b);
        assert_eq!(
            actions[..2],
            [Action::Bye(Leg::Agent), Action::Bye(Leg::Customer)]
        );
        assert_eq!(
            end_of(&actions),
            bridged_end(LegCause::Error, LegCause::Error, EndedBy::Local)
        );
    }

    #[test]
    fn either_hang_up_ends_both_and_says_who() {
        let t0 = Instant::now();
        let mut b = bridged(t0);
        b.handle_input(
            Input::Leg(Leg::Customer, LegEvent::Ended { by_remote: true }),
            t0,
        );
        let actions = drain(&mut b);
        assert_eq!(actions[0], Action::Bye(Leg::Agent));
        assert_eq!(
            end_of(&actions),
            bridged_end(LegCause::Hangup, LegCause::Hangup, EndedBy::Customer)
        );

        let mut b = bridged(t0);
        b.handle_input(
            Input::Leg(Leg::Agent, LegEvent::Ended { by_remote: true }),
            t0,
        );
        let actions = drain(&mut b);
        assert_eq!(actions[0], Action::Bye(Leg::Customer));
        assert_eq!(
            end_of(&actions),
            bridged_end(LegCause::Hangup, LegCause::Hangup, EndedBy::Agent)
        );

        let mut b = bridged(t0);
        b.handle_input(
            Input::Leg(Leg::Agent, LegEvent::Ended { by_remote: false }),
            t0,
        );
        assert_eq!(
            end_of(&drain(&mut b)),
            bridged_end(LegCause::Shutdown, LegCause::Shutdown, EndedBy::Local)
        );

        let mut b = bridged(t0);
        b.handle_input(Input::HangUp, t0);
        let actions = drain(&mut b);
        assert_eq!(
            actions[..2],
            [Action::Bye(Leg::Agent), Action::Bye(Leg::Customer)]
        );
        assert_eq!(
            end_of(&actions),
            bridged_end(LegCause::ApiHangup, LegCause::ApiHangup, EndedBy::Api)
        );
        // Nothing after the end.
        b.handle_input(
            Input::Leg(Leg::Agent, LegEvent::Ended { by_remote: true }),
            t0,
        );
        assert!(drain(&mut b).is_empty());
    }

    #[test]
    fn re_invites_are_relayed_only_once_bridged() {
        let t0 = Instant::now();
        let mut b = customer_ringing(t0);
        b.handle_input(
            Input::Leg(
                Leg::Agent,
                LegEvent::MediaUpdate {
                    sdp: b"v=0".to_vec(),
                },
            ),
            t0,
        );
        assert!(
            drain(&mut b).is_empty(),
            "the bridge has no customer media yet"
        );
        let mut b = bridged(t0);
        b.handle_input(
            Input::Leg(
                Leg::Customer,
                LegEvent::MediaUpdate {
                    sdp: b"v=0".to_vec(),
                },
            ),
            t0,
        );
        assert_eq!(
            drain(&mut b),
            vec![Action::UpdateMedia {
                leg: Leg::Customer,
                sdp: b"v=0".to_vec()
            }]
        );
        assert!(b.is_bridged());
    }

    #[test]
    fn a_bridged_call_stops_at_the_hard_limit() {
        let t0 = Instant::now();
        let mut b = bridged(t0);
        let stop = b.poll_timeout().expect("hard stop");
        // An early wake (a payment's timer) is not the hard stop.
        b.handle_input(Input::Timeout, stop - Duration::from_secs(1));
        assert!(drain(&mut b).is_empty());
        b.handle_input(Input::Timeout, stop);
        let actions = drain(&mut b);
        assert_eq!(
            actions[..2],
            [Action::Bye(Leg::Agent), Action::Bye(Leg::Customer)]
        );
        assert_eq!(
            end_of(&actions),
            bridged_end(LegCause::MaxDuration, LegCause::MaxDuration, EndedBy::Local)
        );
    }

    #[test]
    fn the_endpoint_stopping_ends_the_call() {
        let t0 = Instant::now();
        let mut b = B2bua::new(t0, RING);
        drain(&mut b);
        b.handle_input(Input::Leg(Leg::Agent, LegEvent::Gone), t0);
        assert_eq!(
            end_of(&drain(&mut b)),
            failed(LegCause::Error, None, EndedBy::Local)
        );

        let mut b = bridged(t0);
        b.handle_input(Input::Leg(Leg::Customer, LegEvent::Gone), t0);
        assert_eq!(
            end_of(&drain(&mut b)),
            bridged_end(LegCause::Hangup, LegCause::Error, EndedBy::Local)
        );
    }
}
