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
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } | ApiError::NotFlagged { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid { field, .. } | ApiError::BadQuery { field, .. } => Some(field),
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
            body["order"] = super::orders::order_json(existing);
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
