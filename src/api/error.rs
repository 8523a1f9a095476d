//! Errors at the HTTP edge: one typed enum inside, one JSON shape outside.
//!
//! Every error a client sees is `{"error": "<sentence>", "field": "<name>"|null}`
//! with a 4xx status naming what to fix; only store failures are 5xx, and
//! they never echo the database's message (it can carry SQL or paths) — the
//! detail goes to the log instead.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::views::order_json;
use crate::store::{Order, StoreError};

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No or wrong bearer token.
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// The body is not JSON at all.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// A field is missing, of the wrong type or has a bad value.
    #[error("invalid `{field}`: {reason}")]
    Invalid { field: String, reason: String },
    /// A query-string parameter is bad.
    #[error("invalid query parameter `{field}`: {reason}")]
    BadQuery { field: String, reason: String },
    #[error("order {0:?} not found")]
    NotFound(String),
    /// A bad field in a well-formed body (422, as [`ApiError::Invalid`]:
    /// one rule for the whole API — 400 is for a body that is not JSON or a
    /// bad query parameter, 422 for a JSON body with a field at fault).
    #[error("invalid `{field}`: {reason}")]
    BadField { field: String, reason: String },
    /// An agent token on a merchant-only route, or acting for another agent.
    #[error("{0}")]
    Forbidden(&'static str),
    /// An agent, call or payment that does not exist (or, for an agent
    /// token, belongs to another agent: ids do not leak).
    #[error("{what} {id:?} not found")]
    Missing { what: &'static str, id: String },
    /// The request conflicts with the record's state (409).
    #[error("{message}")]
    Refused {
        field: Option<&'static str>,
        message: String,
    },
    /// The call layer is not running or cannot take the request (503).
    #[error("{0}")]
    Unavailable(String),
    /// The same id was posted with another body.
    #[error("order {id:?} exists with different {}", fields.join(", "))]
    Conflict {
        id: String,
        fields: Vec<&'static str>,
        existing: Box<Order>,
    },
    /// A decision on an order that is not flagged.
    #[error("order {id:?} is {status}; only flagged orders take a decision")]
    NotFlagged { id: String, status: &'static str },
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("no such endpoint")]
    NoRoute,
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    #[error("store failure")]
    Store(#[source] StoreError),
}

impl ApiError {
    /// A field error (422).
    pub fn bad_field(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::BadField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// [`ApiError::Invalid`] (422, orders) as [`ApiError::BadField`] (400):
    /// the shared body readers speak the orders' dialect.
    pub(crate) fn into_bad_request(self) -> ApiError {
        match self {
            ApiError::Invalid { field, reason } => ApiError::BadField { field, reason },
            other => other,
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn bad_query(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::BadQuery {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::MalformedJson(_) | ApiError::BadQuery { .. } => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Missing { .. } => StatusCode::NOT_FOUND,
            ApiError::Refused { .. } => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Invalid { .. } | ApiError::BadField { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::NotFound(_) | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } | ApiError::NotFlagged { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The field the error names (`None`: not about one field).
    pub(crate) fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid { field, .. }
            | ApiError::BadQuery { field, .. }
            | ApiError::BadField { field, .. } => Some(field),
            ApiError::Refused { field, .. } => *field,
            ApiError::Conflict { fields, .. } => fields.first().copied(),
            _ => None,
        }
    }
}

impl From<StoreError> for ApiError {
    /// Store errors that are really about the request become 4xx.
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::InvalidOrder { field, reason } => {
                ApiError::invalid(public_field(field), reason)
            }
            StoreError::OrderNotFound(id) => ApiError::NotFound(id),
            StoreError::NotFlagged { id, status } => ApiError::NotFlagged { id, status },
            StoreError::InvalidAgent { field, reason }
            | StoreError::InvalidCall { field, reason }
            | StoreError::InvalidPayment { field, reason } => ApiError::BadField {
                field: field.to_string(),
                reason,
            },
            StoreError::AgentNotFound(id) => ApiError::Missing { what: "agent", id },
            StoreError::CallNotFound(id) => ApiError::Missing { what: "call", id },
            StoreError::PaymentNotFound(id) => ApiError::Missing {
                what: "payment",
                id,
            },
            StoreError::SipUserTaken(user) => ApiError::Refused {
                field: Some("sip_user"),
                message: format!("SIP user {user:?} is already used by another agent"),
            },
            StoreError::AgentExists(id) => ApiError::Refused {
                field: Some("id"),
                message: format!("agent {id:?} already exists"),
            },
            StoreError::CallNotBridged { id, status } => ApiError::Refused {
                field: Some("call"),
                message: format!("call {id:?} is {status}, not bridged"),
            },
            StoreError::PaymentActive { call_id } => ApiError::Refused {
                field: Some("call"),
                message: format!("call {call_id:?} already has a payment in progress"),
            },
            StoreError::BadCursor(c) => {
                ApiError::bad_query("cursor", format!("{c:?} is not a cursor this API returned"))
            }
            other => ApiError::Store(other),
        }
    }
}

/// The store names the customer kind `customer_kind`; the API nests it.
pub(crate) fn public_field(field: &str) -> &str {
    match field {
        "customer_kind" => "customer.kind",
        other => other,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.to_string();
        if let ApiError::Store(e) = &self {
            tracing::error!(error = %e, "API request failed in the store");
        }
        let mut body = json!({ "error": message, "field": self.field() });
        if let ApiError::Conflict {
            fields, existing, ..
        } = &self
        {
            body["fields"] = json!(fields.iter().map(|f| public_field(f)).collect::<Vec<_>>());
            body["order"] = order_json(existing);
        }
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
