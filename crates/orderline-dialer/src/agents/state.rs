//! The agent state machine: states, inputs, rules and the records it yields.
//!
//! The states and their order follow the operator's working day in a
//! predictive dialer (VICIdial's `vicidial_live_agents.status`: PAUSED,
//! READY, QUEUE, INCALL, then the disposition screen): the phone leg is
//! dialled (`connecting`), the agent starts `paused`, goes `ready`, is
//! `reserved` for a customer being connected, talks (`in_call`) and, when
//! the customer hangs up, stays in `wrap_up` until a disposition is posted
//! or `wrap_up_timeout` passes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an agent is. Calls are named by their record id (the agent call's
/// id in the store); pause codes come from [`FloorRules::pause_codes`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentState {
    /// No session: the agent is not working.
    Offline,
    /// Logged in; the session leg to the agent's phone is being set up.
    Connecting,
    /// Logged in and not taking calls. `code` is the agent's reason from
    /// the configured list; `None` is a pause the floor chose (right after
    /// login, or a wrap-up that timed out under `after_wrap_up = "paused"`).
    Paused {
        #[serde(rename = "pause_code")]
        code: Option<String>,
    },
    /// Waiting for a customer.
    Ready,
    /// A customer is being connected to this agent.
    Reserved {
        #[serde(rename = "call_id")]
        call: String,
    },
    /// Talking to a customer.
    InCall {
        #[serde(rename = "call_id")]
        call: String,
    },
    /// The customer hung up; the agent owes that call a disposition.
    WrapUp {
        #[serde(rename = "call_id")]
        call: String,
    },
}

/// The state's name alone, as stored in the agent log and shown by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    Offline,
    Connecting,
    Paused,
    Ready,
    Reserved,
    InCall,
    WrapUp,
}

impl StateKind {
    /// Every kind, in the order of the working day.
    pub const ALL: [StateKind; 7] = [
        StateKind::Offline,
        StateKind::Connecting,
        StateKind::Paused,
        StateKind::Ready,
        StateKind::Reserved,
        StateKind::InCall,
        StateKind::WrapUp,
    ];

    /// The stored and displayed name (`"in_call"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            StateKind::Offline => "offline",
            StateKind::Connecting => "connecting",
            StateKind::Paused => "paused",
            StateKind::Ready => "ready",
            StateKind::Reserved => "reserved",
            StateKind::InCall => "in_call",
            StateKind::WrapUp => "wrap_up",
        }
    }

    /// The kind a stored name stands for; `None` for text no version wrote.
    pub fn parse(s: &str) -> Option<StateKind> {
        StateKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl AgentState {
    /// The state's name without its data.
    pub fn kind(&self) -> StateKind {
        match self {
            AgentState::Offline => StateKind::Offline,
            AgentState::Connecting => StateKind::Connecting,
            AgentState::Paused { .. } => StateKind::Paused,
            AgentState::Ready => StateKind::Ready,
            AgentState::Reserved { .. } => StateKind::Reserved,
            AgentState::InCall { .. } => StateKind::InCall,
            AgentState::WrapUp { .. } => StateKind::WrapUp,
        }
    }

    /// The call the state is about, if any.
    pub fn call(&self) -> Option<&str> {
        match self {
            AgentState::Reserved { call }
            | AgentState::InCall { call }
            | AgentState::WrapUp { call } => Some(call),
            _ => None,
        }
    }

    /// The agent's pause code, when paused with one.
    pub fn pause_code(&self) -> Option<&str> {
        match self {
            AgentState::Paused { code } => code.as_deref(),
            _ => None,
        }
    }

    /// Rebuild a state from its stored parts (the agent log's `to`,
    /// `pause_code` and `call_id` columns). `None` when the parts do not
    /// make a state (a call state without a call), so a damaged row is
    /// noticed instead of guessed at.
    pub fn from_parts(
        kind: StateKind,
        pause_code: Option<&str>,
        call: Option<&str>,
    ) -> Option<Self> {
        let call = || call.map(str::to_owned);
        Some(match kind {
            StateKind::Offline => AgentState::Offline,
            StateKind::Connecting => AgentState::Connecting,
            StateKind::Paused => AgentState::Paused {
                code: pause_code.map(str::to_owned),
            },
            StateKind::Ready => AgentState::Ready,
            StateKind::Reserved => AgentState::Reserved { call: call()? },
            StateKind::InCall => AgentState::InCall { call: call()? },
            StateKind::WrapUp => AgentState::WrapUp { call: call()? },
        })
    }
}

/// What happens to an agent. The session leg, the dialer, the API and the
/// daemon's timers each produce some of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentInput {
    /// The agent logs in; the session leg is about to be dialled.
    Login,
    /// The agent's phone answered the session leg.
    LegAnswered,
    /// The session leg ended (the agent hung up, or the phone went away).
    LegEnded,
    /// The agent (or a supervisor) sets the agent ready.
    SetReady,
    /// The agent pauses with a code from [`FloorRules::pause_codes`].
    Pause { code: String },
    /// The dialer picked this agent for a customer being connected.
    Reserve { call: String },
    /// The reserved customer did not come through (no answer, busy,
    /// failed); the agent goes back to ready.
    Release { call: String },
    /// The customer is bridged to the agent.
    CustomerConnected { call: String },
    /// The customer's leg ended. `agent_spoke` is false when the customer
    /// hung up before the agent said anything (the record says so: the
    /// issue asks for such calls to be told apart).
    CustomerEnded { call: String, agent_spoke: bool },
    /// A disposition (from [`FloorRules::dispositions`]) is posted for the call.
    /// `then_pause`: the agent's "dispose and pause" (VICIdial's pause box
    /// on the disposition screen): straight to paused with that code, so
    /// the dialer cannot hand a customer over in between.
    Disposition {
        call: String,
        disposition: String,
        then_pause: Option<String>,
    },
    /// The agent logs out.
    Logout,
}

/// Why a transition happened, stored with it in the agent log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Login,
    LegAnswered,
    LegEnded,
    SetReady,
    Pause,
    Reserve,
    Release,
    CustomerConnected,
    CustomerEnded,
    /// The customer hung up before the agent spoke.
    CustomerEndedBeforeAgentSpoke,
    Disposition,
    WrapUpTimeout,
    Logout,
    /// The daemon restarted: sessions do not survive it, so an agent whose
    /// last record was not `offline` is logged out with this reason.
    Restart,
}

impl Reason {
    /// Every reason, for parsing stored text.
    pub const ALL: [Reason; 14] = [
        Reason::Login,
        Reason::LegAnswered,
        Reason::LegEnded,
        Reason::SetReady,
        Reason::Pause,
        Reason::Reserve,
        Reason::Release,
        Reason::CustomerConnected,
        Reason::CustomerEnded,
        Reason::CustomerEndedBeforeAgentSpoke,
        Reason::Disposition,
        Reason::WrapUpTimeout,
        Reason::Logout,
        Reason::Restart,
    ];

    /// The stored name (`"wrap_up_timeout"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Login => "login",
            Reason::LegAnswered => "leg_answered",
            Reason::LegEnded => "leg_ended",
            Reason::SetReady => "set_ready",
            Reason::Pause => "pause",
            Reason::Reserve => "reserve",
            Reason::Release => "release",
            Reason::CustomerConnected => "customer_connected",
            Reason::CustomerEnded => "customer_ended",
            Reason::CustomerEndedBeforeAgentSpoke => "customer_ended_before_agent_spoke",
            Reason::Disposition => "disposition",
            Reason::WrapUpTimeout => "wrap_up_timeout",
            Reason::Logout => "logout",
            Reason::Restart => "restart",
        }
    }

    /// The reason a stored name stands for.
    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One line of the agent log: the agent moved `from` → `to` at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: AgentState,
    pub to: AgentState,
    pub at: DateTime<Utc>,
    pub reason: Reason,
}

impl Transition {
    /// When the new state began and which it is: what the day totals need.
    pub fn mark(&self) -> (DateTime<Utc>, StateKind) {
        (self.at, self.to.kind())
    }
}

/// Where a wrap-up that ran out of time leaves the agent
/// (`after_wrap_up` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterWrapUp {
    /// Back to taking calls (the dialer keeps the agent busy).
    #[default]
    Ready,
    /// Paused without a code: an agent who walked away from the disposition
    /// screen is not sent the next customer (the safer rule when abandons
    /// count against the 3 % budget).
    Paused,
}

/// The floor's configured rules, checked once at start (the config layer
/// names the key at fault); the machine only reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloorRules {
    pub pause_codes: Vec<String>,
    pub dispositions: Vec<String>,
    pub wrap_up_timeout: Duration,
    pub after_wrap_up: AfterWrapUp,
}

impl FloorRules {
    /// Whether `code` is a configured pause code.
    pub fn knows_pause_code(&self, code: &str) -> bool {
        self.pause_codes.iter().any(|c| c == code)
    }

    /// Whether `disposition` is a configured disposition.
    pub fn knows_disposition(&self, disposition: &str) -> bool {
        self.dispositions.iter().any(|d| d == disposition)
    }
}

/// A move the rules do not allow. Each names what was asked and why not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    #[error("the agent is not logged in")]
    NotLoggedIn,
    #[error("the agent is already logged in ({0})")]
    AlreadyLoggedIn(&'static str),
    #[error("the agent's phone leg is not up yet")]
    NotConnected,
    #[error("the agent's phone leg is already up")]
    AlreadyConnected,
    #[error("pause code {0:?} is not one of the configured pause_codes")]
    UnknownPauseCode(String),
    #[error("disposition {0:?} is not one of the configured dispositions")]
    UnknownDisposition(String),
    #[error("the agent is on call {0}")]
    OnCall(String),
    #[error("the agent owes call {0} a disposition")]
    DispositionRequired(String),
    #[error("the agent is {0}, not ready")]
    NotReady(&'static str),
    #[error("the agent is {state} and not on call {call}")]
    WrongCall { state: &'static str, call: String },
}

/// One agent's state machine. Holds the state and when it began; every
/// accepted input returns the record to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMachine {
    state: AgentState,
    since: DateTime<Utc>,
}

impl AgentMachine {
    /// A new agent, offline since `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self::resume(AgentState::Offline, at)
    }

    /// An agent in `state` since `since` (rebuilt from its last log record).
    pub fn resume(state: AgentState, since: DateTime<Utc>) -> Self {
        Self { state, since }
    }

    pub fn state(&self) -> &AgentState {
        &self.state
    }

    /// When the current state began.
    pub fn since(&self) -> DateTime<Utc> {
        self.since
    }

    /// Apply `input` at `at`. `Ok(None)` when the input changes nothing (a
    /// ready agent set ready again: the API's PUT is idempotent), `Ok(Some)`
    /// with the record to persist, or the rule that forbids it.
    pub fn apply(
        &mut self,
        rules: &FloorRules,
        input: AgentInput,
        at: DateTime<Utc>,
    ) -> Result<Option<Transition>, AgentError> {
        use AgentState as S;
        let name = self.state.kind().as_str();
        let (to, reason) = match (input, &self.state) {
            (AgentInput::Login, S::Offline) => (S::Connecting, Reason::Login),
            (AgentInput::Login, _) => return Err(AgentError::AlreadyLoggedIn(name)),

            (_, S::Offline) => return Err(AgentError::NotLoggedIn),

            (AgentInput::Logout, _) => (S::Offline, Reason::Logout),
            (AgentInput::LegEnded, _) => (S::Offline, Reason::LegEnded),

            // VICIdial's agents start paused after login: the first call
            // waits until the agent says they are ready.
            (AgentInput::LegAnswered, S::Connecting) => {
                (S::Paused { code: None }, Reason::LegAnswered)
            }
            (AgentInput::LegAnswered, _) => return Err(AgentError::AlreadyConnected),

            (_, S::Connecting) => return Err(AgentError::NotConnected),

            (AgentInput::SetReady, S::Ready) => return Ok(None),
            (AgentInput::SetReady, S::Paused { .. }) => (S::Ready, Reason::SetReady),
            (AgentInput::Pause { code }, S::Ready | S::Paused { .. }) => {
                if !rules.knows_pause_code(&code) {
                    return Err(AgentError::UnknownPauseCode(code));
                }
                if self.state.pause_code() == Some(code.as_str()) {
                    return Ok(None);
                }
                (S::Paused { code: Some(code) }, Reason::Pause)
            }
            (AgentInput::SetReady | AgentInput::Pause { .. }, S::WrapUp { call }) => {
                return Err(AgentError::DispositionRequired(call.clone()))
            }
            (
                AgentInput::SetReady | AgentInput::Pause { .. },
                S::Reserved { call } | S::InCall { call },
            ) => return Err(AgentError::OnCall(call.clone())),

            // Only a ready agent gets a customer: a paused agent takes
            // none (the pacer's rule, and VICIdial's).
            (AgentInput::Reserve { call }, S::Ready) => (S::Reserved { call }, Reason::Reserve),
            (AgentInput::Reserve { .. }, _) => return Err(AgentError::NotReady(name)),

            (AgentInput::Release { call }, S::Reserved { call: held }) if call == *held => {
                (S::Ready, Reason::Release)
            }
            (AgentInput::CustomerConnected { call }, S::Reserved { call: held })
                if call == *held =>
            {
                (S::InCall { call }, Reason::CustomerConnected)
            }
            // The customer can hang up while being connected: the agent
            // never spoke, and still owes the call a disposition.
            (
                AgentInput::CustomerEnded { call, agent_spoke },
                S::Reserved { call: held } | S::InCall { call: held },
            ) if call == *held => {
                let spoke = agent_spoke && matches!(self.state, S::InCall { .. });
                let reason = if spoke {
                    Reason::CustomerEnded
                } else {
                    Reason::CustomerEndedBeforeAgentSpoke
                };
                (S::WrapUp { call }, reason)
            }
            (
                AgentInput::Disposition {
                    call,
                    disposition,
                    then_pause,
                },
                S::WrapUp { call: held },
            ) if call == *held => {
                if !rules.knows_disposition(&disposition) {
                    return Err(AgentError::UnknownDisposition(disposition));
                }
                match then_pause {
                    None => (S::Ready, Reason::Disposition),
                    Some(code) if rules.knows_pause_code(&code) => {
                        (S::Paused { code: Some(code) }, Reason::Disposition)
                    }
                    Some(code) => return Err(AgentError::UnknownPauseCode(code)),
                }
            }
            (
                AgentInput::Release { call }
                | AgentInput::CustomerConnected { call }
                | AgentInput::CustomerEnded { call, .. }
                | AgentInput::Disposition { call, .. },
                _,
            ) => return Err(AgentError::WrongCall { state: name, call }),
        };
        Ok(Some(self.enter(to, at, reason)))
    }

    /// When [`poll`](Self::poll) next has something to do: the end of
    /// `wrap_up_timeout` while in wrap-up, else never.
    pub fn next_deadline(&self, rules: &FloorRules) -> Option<DateTime<Utc>> {
        match self.state {
            AgentState::WrapUp { .. } => {
                let limit = chrono::Duration::from_std(rules.wrap_up_timeout).ok()?;
                self.since.checked_add_signed(limit)
            }
            _ => None,
        }
    }

    /// Let time pass to `now`: a wrap-up past its timeout ends by the
    /// configured rule (`after_wrap_up`), dated at the deadline itself so
    /// the log's seconds do not depend on when the timer task woke.
    pub fn poll(&mut self, rules: &FloorRules, now: DateTime<Utc>) -> Option<Transition> {
        let deadline = self.next_deadline(rules)?;
        if now < deadline {
            return None;
        }
        let to = match rules.after_wrap_up {
            AfterWrapUp::Ready => AgentState::Ready,
            AfterWrapUp::Paused => AgentState::Paused { code: None },
        };
        Some(self.enter(to, deadline, Reason::WrapUpTimeout))
    }

    /// Log the agent out because the daemon restarted (sessions do not
    /// survive a restart); `None` when the agent was offline already.
    pub fn restart(&mut self, at: DateTime<Utc>) -> Option<Transition> {
        if self.state == AgentState::Offline {
            return None;
        }
        Some(self.enter(AgentState::Offline, at, Reason::Restart))
    }

    fn enter(&mut self, to: AgentState, at: DateTime<Utc>, reason: Reason) -> Transition {
        // A record dated before the state it ends would give negative
        // seconds; out-of-order inputs are dated at the state's start.
        let at = at.max(self.since);
        let from = std::mem::replace(&mut self.state, to.clone());
        self.since = at;
        Transition {
            from,
            to,
            at,
            reason,
        }
    }
}
