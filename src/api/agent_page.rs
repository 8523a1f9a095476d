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
    CSP.get_or_init(|| {
        format!(
            "default-src 'self'; script-src {}; style-src {}; connect-src 'self'; img-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            inline_hash(AGENT_PAGE, "script"),
            inline_hash(AGENT_PAGE, "style"),
        )
    })
}

/// `'sha256-…'` of `page`'s first inline `<tag>` element's text, as CSP
/// wants it (CSP Level 3 §8.4, hash-source); the console page uses it too.
pub(crate) fn inline_hash(page: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let text = page
        .split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map_or("", |(inner, _)| inner);
    format!("'sha256-{}'", B64.encode(Sha256::digest(text.as_bytes())))
}

pub(crate) async fn serve() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, agent_page_csp()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        AGENT_PAGE,
    )
}
