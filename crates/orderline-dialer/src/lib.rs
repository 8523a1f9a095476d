//! The operator dialer's domain logic as sans-IO state machines.
//!
//! Everything here takes events and a timestamp and returns decisions; nothing
//! reads a clock, opens a socket or touches a database (this crate's manifest
//! carries no runtime, so the compiler enforces it). The daemon's tokio tasks
//! feed it and carry its decisions out; the simulator feeds it simulated time.
//!
//! - [`window`]: the daily calling window in the customer's IANA time zone.
//! - [`pacer`]: the predictive pacer ("dial N more lines now") under the
//!   30-day abandon budget.
//! - [`sim`]: the discrete-event simulator comparing pacers on identical customers.
//! - [`modes`]: call modes, their sub-queues, the picker (issue #11).
//! - [`agents`]: operators' states, the agent log's records and day totals (issue #10).
//! - [`harbor`]: the safe-harbor rule: connect within 2 s or play the message.
//! - [`lease`]: a cluster node's attempt leases and trunk share (issue #16).

pub mod agents;
pub mod harbor;
pub mod lease;
pub mod modes;
pub mod pacer;
pub mod sim;
pub mod window;
