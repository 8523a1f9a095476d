//! An agent's nailed-up session (issue #10) as a sans-IO state machine.
//!
//! VICIdial's model, which every predictive dialer shares: the agent logs in
//! once, orderline calls the agent's phone once and keeps that leg up, and
//! each customer is connected into the live leg without ringing the phone.
//! That is what makes the 2-second connect rule (FTC TSR 16 CFR
//! §310.4(b)(4)(iii), FCC 47 CFR §64.1200(a)(7)) reachable at all.
//!
//! This machine decides the agent leg's life: ringing (with the ring
//! timeout and the CANCEL/200 crossing of RFC 3261 §9.1, as
//! [`super::b2bua`] does for click-to-call), up with comfort noise, lent to
//! one customer call at a time (whose own rules are the B2BUA's, see
//! [`B2bua::into_session`](super::b2bua::B2bua::into_session)), and down
//! with a cause. It reads no clock and does no I/O: the driver
//! (`driver.rs`) feeds it events plus a timestamp and carries out its
//! [`SessionAction`]s (the shape of str0m's `handle_input`/`poll_output`).

pub mod driver;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::b2bua::LegEvent;
use super::live::{LegCause, SessionEvent};

/// Inputs of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionInput {
    /// The agent leg's SIP dialog reported (while no customer call holds it).
    Agent(LegEvent),
    /// `DELETE /v1/agents/{id}/session` (or the desk going away).
    Logout,
    /// The comfort-noise bridge asked for by [`SessionAction::StartMedia`] runs.
    MediaReady,
    /// Something local failed while carrying out an action.
    LocalFailure,
    /// The instant from [`Session::poll_timeout`] has come.
    Timeout,
    /// A customer call asks for the agent (click-to-call, the dialer).
    Customer { call_id: String },
    /// The customer call holding the leg is bridged: the customer hears
    /// the agent.
    CustomerBridged { call_id: String },
    /// The customer call that held the leg is over; the leg is back.
    /// `agent_spoke`: the agent sent speech-level audio to that customer;
    /// `connect_latency`: from the customer's 200 OK to the first agent
    /// packet carrying the customer's sound (`None`: never heard).
    CustomerDone {
        call_id: String,
        agent_spoke: bool,
        connect_latency: Option<Duration>,
        /// The 200 OK to the customer's first RTP packet.
        first_rtp_after: Option<Duration>,
    },
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionAction {
    /// Bind media and INVITE the agent's phone.
    Invite,
    /// CANCEL the ringing INVITE (§9.1).
    Cancel,
    /// BYE the agent's leg (§15).
    Bye,
    /// Start the session's bridge on the agent's media: comfort noise.
    /// Then [`SessionInput::MediaReady`] (or `LocalFailure`).
    StartMedia,
    /// Lend the agent's leg and bridge to this customer call; it gives
    /// them back with [`SessionInput::CustomerDone`].
    Serve {
        call_id: String,
    },
    /// Refuse a customer call: the session is not idle.
    Refuse {
        call_id: String,
    },
    /// Hang up the customer call holding the leg (logout during a call).
    HangUpCustomer,
    Report(SessionEvent),
    /// The session is over; nothing follows.
    End {
        cause: LegCause,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// The agent's phone rings. `cancelled`: why we sent CANCEL.
    Ringing {
        deadline: Instant,
        cancelled: Option<LegCause>,
        timed_out: bool,
    },
    /// Answered; the bridge is being started.
    Starting,
    /// Up, comfort noise, no customer.
    Idle,
    /// A customer call holds the leg; `logout`: log out when it is done.
    Serving {
        call_id: String,
        logout: bool,
    },
    Down,
}

/// One agent's session.
#[derive(Debug)]
pub struct Session {
    state: State,
    actions: VecDeque<SessionAction>,
}

impl Session {
    /// Log in at `now`: the first actions report `Connecting` and invite
    /// the agent's phone, which may ring for `ring_timeout`.
    pub fn new(now: Instant, ring_timeout: Duration) -> Session {
        let mut s = Session {
            state: State::Ringing {
                deadline: now + ring_timeout,
                cancelled: None,
                timed_out: false,
            },
            actions: VecDeque::new(),
        };
        s.actions
            .push_back(SessionAction::Report(SessionEvent::Connecting));
        s.actions.push_back(SessionAction::Invite);
        s
    }

    pub fn poll_action(&mut self) -> Option<SessionAction> {
        self.actions.pop_front()
    }

    /// When to feed [`SessionInput::Timeout`]: only the ring timeout.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Ringing {
                deadline,
                cancelled: None,
                timed_out: false,
            } => Some(deadline),
            _ => None,
        }
    }

    /// Up with no customer: a customer call may be connected now.
    pub fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    pub fn is_down(&self) -> bool {
        self.state == State::Down
    }

    pub fn handle_input(&mut self, input: SessionInput, now: Instant) {
        if input == SessionInput::LocalFailure {
            self.actions.clear();
        }
        // A customer call can only be taken while idle; refused in any other
        // state, whatever else happens.
        if let SessionInput::Customer { call_id } = &input {
            if self.state == State::Idle {
                self.actions.push_back(SessionAction::Serve {
                    call_id: call_id.clone(),
                });
                self.state = State::Serving {
                    call_id: call_id.clone(),
                    logout: false,
                };
            } else {
                self.actions.push_back(SessionAction::Refuse {
                    call_id: call_id.clone(),
                });
            }
            return;
        }
        match self.state.clone() {
            State::Ringing {
                deadline,
                cancelled,
                timed_out,
            } => self.ringing(input, now, deadline, cancelled, timed_out),
            State::Starting => match input {
                SessionInput::MediaReady => {
                    self.actions
                        .push_back(SessionAction::Report(SessionEvent::Up));
                    self.state = State::Idle;
                }
                SessionInput::LocalFailure => self.bye(LegCause::Error),
                // The bridge start is synchronous in the driver.
                _ => {}
            },
            State::Idle => self.up(input, None),
            State::Serving { call_id, logout } => self.serving(input, call_id, logout),
            State::Down => {}
        }
    }

    fn down(&mut self, cause: LegCause) {
        self.actions
            .push_back(SessionAction::Report(SessionEvent::Down { cause }));
        self.actions.push_back(SessionAction::End { cause });
        self.state = State::Down;
    }

    fn bye(&mut self, cause: LegCause) {
        self.actions.push_back(SessionAction::Bye);
        self.down(cause);
    }

    fn ringing(
        &mut self,
        input: SessionInput,
        now: Instant,
        deadline: Instant,
        cancelled: Option<LegCause>,
        timed_out: bool,
    ) {
        match input {
            SessionInput::Agent(LegEvent::Answered { usable_sdp }) => match cancelled {
                // The 200 crossed our CANCEL (RFC 3261 §9.1): end it with BYE.
                Some(cause) => self.bye(cause),
                None if !usable_sdp => self.bye(LegCause::BadSdp),
                None => {
                    self.actions.push_back(SessionAction::StartMedia);
                    self.state = State::Starting;
                }
            },
            SessionInput::Agent(LegEvent::Failed { status }) => {
                self.down(cancelled.unwrap_or_else(|| LegCause::from_failure(status, timed_out)));
            }
            SessionInput::Agent(LegEvent::Gone) | SessionInput::LocalFailure => {
                self.down(LegCause::Error);
            }
            SessionInput::Logout if cancelled.is_none() => {
                self.actions.push_back(SessionAction::Cancel);
                self.state = State::Ringing {
                    deadline,
                    cancelled: Some(LegCause::ApiHangup),
                    timed_out,
                };
            }
            SessionInput::Timeout if cancelled.is_none() && !timed_out && now >= deadline => {
                self.actions.push_back(SessionAction::Cancel);
                self.state = State::Ringing {
                    deadline,
                    cancelled: None,
                    timed_out: true,
                };
            }
            _ => {}
        }
    }

    /// Up and idle (`serving` is `None`): the agent's leg events, logout.
    fn up(&mut self, input: SessionInput, serving: Option<&str>) {
        match input {
            SessionInput::Agent(LegEvent::Ended { by_remote: true }) => {
                self.down(LegCause::Hangup);
            }
            SessionInput::Agent(LegEvent::Ended { by_remote: false }) => {
                self.down(LegCause::Shutdown);
            }
            SessionInput::Agent(LegEvent::Gone) => self.down(LegCause::Shutdown),
            SessionInput::Logout | SessionInput::LocalFailure => {
                let cause = if input == SessionInput::Logout {
                    LegCause::ApiHangup
                } else {
                    LegCause::Error
                };
                match serving {
                    None => self.bye(cause),
                    Some(call_id) => {
                        self.actions.push_back(SessionAction::HangUpCustomer);
                        self.state = State::Serving {
                            call_id: call_id.to_string(),
                            logout: true,
                        };
                    }
                }
            }
            // A re-INVITE on an idle session (hold, codec change) is
            // relayed by the driver to the bridge; nothing to decide.
            _ => {}
        }
    }

    fn serving(&mut self, input: SessionInput, call_id: String, logout: bool) {
        match input {
            SessionInput::CustomerBridged { call_id: bridged } if bridged == call_id => {
                self.actions
                    .push_back(SessionAction::Report(SessionEvent::CustomerConnected {
                        call_id: bridged,
                    }));
            }
            SessionInput::CustomerDone {
                call_id: done,
                agent_spoke,
                connect_latency,
                first_rtp_after,
            } if done == call_id => {
                self.actions
                    .push_back(SessionAction::Report(SessionEvent::CustomerEnded {
                        call_id: done,
                        agent_spoke,
                        connect_latency,
                        first_rtp_after,
                    }));
                if logout {
                    self.bye(LegCause::ApiHangup);
                } else {
                    self.state = State::Idle;
                }
            }
            SessionInput::Logout if logout => {}
            other => self.up(other, Some(&call_id)),
        }
    }
}
