//! `GET /console/admin` (issue #11): the merchant's call-mode admin page —
//! projects × modes with their sub-queue counts, the agents of each mode, a
//! settings form per mode and the status ticks — one self-contained HTML
//! file (no third-party assets) served without auth: it asks for the
//! merchant token, keeps it in the tab's `sessionStorage` and sends it as
//! `Authorization: Bearer` to the `/v1/dialer/*` routes, which check it.
//!
//! Same strict Content-Security-Policy as the agent page (`agent_page.rs`):
//! only its own inline script and style, by hash; requests to this origin only.

use std::sync::OnceLock;

use axum::response::IntoResponse;

use super::agent_page::{html_page, page_csp};

/// The page.
pub const ADMIN_PAGE: &str = include_str!("admin_page.html");

/// The page's Content-Security-Policy.
pub fn admin_page_csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| page_csp(ADMIN_PAGE))
}

pub(crate) async fn serve() -> impl IntoResponse {
    html_page(ADMIN_PAGE, admin_page_csp())
}
