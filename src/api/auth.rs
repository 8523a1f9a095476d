//! Bearer-token authentication: merchants and agents.
//!
//! A merchant token (`http.api_tokens`) may do everything. Any other token
//! is looked up as an agent's (`store.agent_by_token`, by its SHA-256): an
//! agent may use only the call and payment routes, and only for its own
//! calls. The middleware puts the [`Principal`] in the request's extensions.
//!
//! Tokens are compared as SHA-256 digests with `subtle`'s constant-time
//! equality, and every configured token is checked (no early exit), so
//! neither the position of the first wrong byte nor the token's length nor
//! which token matched shows in the response time. An empty `api_tokens`
//! list locks the API (every request is 401) rather than opening it.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::ApiState;

/// The configured tokens, kept only as digests.
#[derive(Clone)]
pub(crate) struct Tokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.digests.len())
    }
}

impl Tokens {
    pub(crate) fn new(tokens: &[SecretString]) -> Tokens {
        Tokens {
            digests: tokens
                .iter()
                .map(|t| t.expose_secret())
                .filter(|t| !t.is_empty())
                .map(|t| digest(t.as_bytes()))
                .collect(),
        }
    }

    /// Whether `candidate` is one of the tokens, in constant time.
    pub(crate) fn accepts(&self, candidate: &[u8]) -> bool {
        let d = digest(candidate);
        self.digests
            .iter()
            .fold(subtle::Choice::from(0), |any, t| any | t.ct_eq(&d))
            .into()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The bearer token of a request, if it carries one (`Bearer` is
/// case-insensitive, RFC 7235 §2.1).
fn bearer(req: &Request) -> Option<&[u8]> {
    let value = req.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at(value.iter().position(|b| *b == b' ')?);
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| token.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A merchant token: everything.
    Merchant,
    /// An agent's own token: its own calls and payments only.
    Agent { id: String, name: String },
}

impl Principal {
    /// May this principal see a record that belongs to `agent_id`?
    pub fn sees(&self, agent_id: &str) -> bool {
        match self {
            Principal::Merchant => true,
            Principal::Agent { id, .. } => id == agent_id,
        }
    }

    /// The agent to restrict a listing to (`None` for a merchant).
    pub fn agent_id(&self) -> Option<&str> {
        match self {
            Principal::Merchant => None,
            Principal::Agent { id, .. } => Some(id),
        }
    }
}

/// Middleware: 401 with `WWW-Authenticate: Bearer` unless the token is a
/// merchant's or an agent's; the [`Principal`] goes into the extensions.
pub(crate) async fn require_token(
    State(state): State<ApiState>,
    mut req: Request,
    next: Next,
) -> Response {
    let principal = match bearer(&req) {
        None => return ApiError::Unauthorized.into_response(),
        Some(token) if state.inner.tokens.accepts(token) => Principal::Merchant,
        Some(token) => {
            let Ok(token) = std::str::from_utf8(token) else {
                return ApiError::Unauthorized.into_response();
            };
            match state.inner.store.agent_by_token(token).await {
                Ok(Some(agent)) => Principal::Agent {
                    id: agent.id,
                    name: agent.name,
                },
                Ok(None) => return ApiError::Unauthorized.into_response(),
                Err(e) => return ApiError::Store(e).into_response(),
            }
        }
    };
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Middleware after [`require_token`]: 403 for an agent token (orders,
/// rules and agents are the merchant's).
pub(crate) async fn merchant_only(req: Request, next: Next) -> Response {
    match req.extensions().get::<Principal>() {
        Some(Principal::Merchant) => next.run(req).await,
        Some(Principal::Agent { .. }) => {
            ApiError::Forbidden("an agent token may only use the call and payment routes")
                .into_response()
        }
        None => ApiError::Unauthorized.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_configured_tokens() {
        let t = Tokens::new(&["alpha".into(), "beta".into(), "".into()]);
        assert!(t.accepts(b"alpha"));
        assert!(t.accepts(b"beta"));
        assert!(!t.accepts(b"alph"));
        assert!(
            !t.accepts(b""),
            "an empty configured token must not open the API"
        );
        assert!(!Tokens::new(&[]).accepts(b"anything"));
    }
}
