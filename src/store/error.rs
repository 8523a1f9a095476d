//! Store errors, each naming the operation or the record at fault.

/// What went wrong in the order store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("unsupported database url {0:?}: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot open database: {0}")]
    Open(#[source] sqlx::Error),
    #[error("cannot apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error while trying to {op}: {source}")]
    Query {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("invalid order field `{field}`: {reason}")]
    InvalidOrder { field: &'static str, reason: String },
    #[error("order {0:?} not found")]
    OrderNotFound(String),
    #[error("call attempt {0} is not live (never claimed, or already finished)")]
    AttemptNotLive(i64),
    #[error("order {order_id:?} would exceed the cap of {cap} calls", cap = 1 + crate::config::MAX_REATTEMPTS)]
    AttemptCap { order_id: String },
    #[error("order {id:?} is {status}, so it cannot take a decision (only flagged orders can)")]
    NotFlagged { id: String, status: &'static str },
    #[error("webhook event {0:?} not found")]
    EventNotFound(String),
    #[error("invalid list cursor {0:?}")]
    BadCursor(String),
    #[error("agent {0:?} not found")]
    AgentNotFound(String),
    #[error("agent {0:?} already exists")]
    AgentExists(String),
    #[error("SIP user {0:?} is already used by another agent")]
    SipUserTaken(String),
    #[error("invalid agent field `{field}`: {reason}")]
    InvalidAgent { field: &'static str, reason: String },
    #[error("call {0:?} not found")]
    CallNotFound(String),
    #[error("invalid call field `{field}`: {reason}")]
    InvalidCall { field: &'static str, reason: String },
    #[error("call {id:?} is {status}, not bridged")]
    CallNotBridged { id: String, status: &'static str },
    #[error("call {call_id:?} already has an active payment")]
    PaymentActive { call_id: String },
    #[error("payment {0:?} not found")]
    PaymentNotFound(String),
    #[error("invalid payment field `{field}`: {reason}")]
    InvalidPayment { field: &'static str, reason: String },
    #[error("unreadable {table} row: {reason}")]
    Corrupt { table: &'static str, reason: String },
}

/// Attach the operation name to a sqlx error.
pub(crate) trait QueryContext<T> {
    fn during(self, op: &'static str) -> Result<T, StoreError>;
}

impl<T> QueryContext<T> for Result<T, sqlx::Error> {
    fn during(self, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query { op, source })
    }
}
