//! Operators' states on the floor (issue #10), sans-IO.
//!
//! One [`AgentMachine`] per agent takes [`AgentInput`]s with the time they
//! happened and answers with a [`Transition`] record, or a typed
//! [`AgentError`] when the move is not allowed. The daemon persists each
//! record (the agent log) and feeds the same machine from the API, the
//! session leg and its timers; nothing here reads a clock.
//!
//! - [`state`]: the states, the inputs, the rules and the machine;
//! - [`day`]: seconds per state per day, computed from the records (the
//!   agent log's totals: paused, waiting, talking, wrap-up; VICIdial's
//!   `vicidial_agent_log` columns `pause_sec`, `wait_sec`, `talk_sec`,
//!   `dispo_sec`).

pub mod day;
pub mod state;

#[cfg(test)]
mod tests;

pub use day::{day_seconds, day_start, DaySeconds};
pub use state::{
    AfterWrapUp, AgentError, AgentInput, AgentMachine, AgentState, FloorRules, Reason, StateKind,
    Transition,
};
