//! `GET /agent`: the agent's payment page, one self-contained HTML file
//! (no CDN, no external fetch), served without auth: it asks for the token
//! and keeps it in the tab's `sessionStorage`.
//!
//! Its inline `<style>` and `<script>` are allowed by their SHA-256 in a
//! strict Content-Security-Policy (computed from the file itself, once), so
//! nothing else can run or load on the page, and it may only talk to this
//! origin.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The page.
pub const AGENT_PAGE: &str = include_str!("agent_page.html");

/// The page's Content-Security-Policy.
pub fn agent_page_csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| page_csp(AGENT_PAGE))
}

/// The strict policy of a self-contained page: only its own inline script
/// and style (by hash), requests only to this origin. Shared by the console
/// pages (`/console/admin`).
pub(crate) fn page_csp(page: &str) -> String {
    format!(
        "default-src 'self'; script-src {}; style-src {}; connect-src 'self'; img-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        inline_hash(page, "script"),
        inline_hash(page, "style"),
    )
}

/// `'sha256-…'` of the first inline `<tag>` element's text, as CSP wants it.
fn inline_hash(page: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let text = page
        .split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map_or("", |(inner, _)| inner);
    format!("'sha256-{}'", B64.encode(Sha256::digest(text.as_bytes())))
}

pub(crate) async fn serve() -> impl IntoResponse {
    html_page(AGENT_PAGE, agent_page_csp())
}

/// A console page with its policy and no-cache, no-frame, no-referrer headers.
pub(crate) fn html_page(page: &'static str, csp: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        page,
    )
}
