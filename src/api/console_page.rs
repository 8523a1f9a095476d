//! `GET /console`: the operator console (issue #10), one self-contained
//! HTML file like the `/agent` page (no CDN, no external fetch), served
//! without auth: it asks for the agent id and token and keeps them in the
//! tab's `sessionStorage`; every API call sends the token as an
//! `Authorization` header, never in a URL.
//!
//! Its inline `<style>` and `<script>` are allowed by their SHA-256 in the
//! same strict Content-Security-Policy as `/agent`, so nothing else can run
//! or load on the page, and it may only talk to this origin.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;

use super::agent_page::page_csp;

/// The page.
pub const CONSOLE_PAGE: &str = include_str!("console_page.html");

/// The page's Content-Security-Policy (the `/agent` page's, with this
/// page's hashes).
pub fn console_page_csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| page_csp(CONSOLE_PAGE))
}

pub(crate) async fn serve() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, console_page_csp()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        CONSOLE_PAGE,
    )
}
