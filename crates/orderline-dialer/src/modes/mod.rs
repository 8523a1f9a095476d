//! Call modes (issue #11): orders grouped by why they must be called, split
//! into sub-queues, handed to the agents who may work each mode.
//!
//! - [`config`]: the `[dialer]` TOML contract and its validation;
//! - [`rules`]: the checked modes, status ticks and disposition targets;
//! - [`queue`]: [`DialQueue`], the state and the moves events make;
//! - `index`: its entries and the indexes a pick reads;
//! - [`pick`]: the next order for a ready agent;
//! - [`view`]: the orders-in-line view and the admin counts;
//! - [`rows`]: the state as plain rows, and the rebuild after a restart;
//! - [`share`]: the deterministic sample of `random` modes;
//! - [`skip`]: a previewed order the agent passed on (preview pacing);
//! - [`upsell`]: what sets an upsell mode apart (issue #15);
//! - [`settings`]: mode settings and status ticks changed at run time.
//!
//! All of it is sans-IO: `now` comes in with every event, decisions come
//! out, and nothing here reads a clock or touches the store (docs/call-modes.md).

pub mod config;
mod index;
pub mod pick;
pub mod queue;
pub mod rows;
pub mod rules;
pub mod settings;
pub mod share;
pub mod skip;
pub mod upsell;
pub mod view;

#[cfg(test)]
mod tests;

pub use config::{DialerConfig, DialerConfigError, ModeConfig, StatusConfig};
pub use pick::{Pick, Reason};
pub use queue::{DialQueue, DialResult, Moved, OrderCard, Placement, QueueError, Subqueue};
pub use rows::{QueueRow, Rebuilt};
pub use rules::{
    AmdPolicy, CallModes, Mode, ModeKind, Pacing, FULFILMENT_STATUSES, UPSELL_DISPOSITIONS,
};
pub use settings::{ModeSettings, Tick};
pub use view::{Counts, ModeOverview, Overview, QueueFilter, QueueItem};
