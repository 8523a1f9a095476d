//! `GET /v1/orders.csv`: the merchant's "filter and export", as RFC 4180 CSV.
//!
//! The body is streamed one store page (500 orders) at a time, so an export
//! of a year of orders holds one page in memory, not the whole file. Pages
//! follow the same keyset cursor as the JSON list, so orders created during
//! the export never shift or repeat rows. A store error after the first page
//! can only end the stream early (the status line is already sent); it is
//! logged, and the client sees a truncated body without the final newline.

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::extract::list_query;
use super::views::time;
use super::ApiState;
use crate::store::{ListQuery, Order, MAX_PAGE};

/// The header row; one column per order field, `items` as JSON text.
pub const COLUMNS: [&str; 11] = [
    "id",
    "status",
    "phone",
    "amount",
    "currency",
    "customer_kind",
    "locale",
    "timezone",
    "created_at",
    "updated_at",
    "items",
];

/// `GET /v1/orders.csv?status=&from=&to=`: every matching order, oldest first.
pub(crate) async fn export(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut q = list_query(query.as_deref(), &["status", "from", "to"], &|s| {
        state.configured_status(s)
    })?;
    q.limit = MAX_PAGE;
    // Read the first page before answering so a bad filter or a store
    // failure is still a proper error status.
    let first = state.inner.store.list_orders(&q).await?;
    let mut head = line(COLUMNS.iter().copied());
    for o in &first.orders {
        head.push_str(&order_line(o));
    }
    let store = state.inner.store.clone();
    let rest = first.next_cursor.map(|c| ListQuery {
        cursor: Some(c),
        ..q
    });
    let tail = futures_util::stream::unfold(rest, move |next| {
        let store = store.clone();
        async move {
            let q = next?;
            match store.list_orders(&q).await {
                Ok(page) => {
                    let chunk: String = page.orders.iter().map(order_line).collect();
                    let next = page.next_cursor.map(|c| ListQuery {
                        cursor: Some(c),
                        ..q
                    });
                    Some((Ok::<Bytes, std::io::Error>(Bytes::from(chunk)), next))
                }
                Err(e) => {
                    tracing::error!(error = %e, "CSV export stopped by a store error");
                    Some((
                        Err(std::io::Error::other("store error during export")),
                        None,
                    ))
                }
            }
        }
    });
    let body = futures_util::stream::StreamExt::chain(
        futures_util::stream::iter([Ok(Bytes::from(head))]),
        tail,
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"orders.csv\"",
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

fn order_line(o: &Order) -> String {
    let created = time(o.created_at);
    let updated = time(o.updated_at);
    let items = o.items.to_string();
    line([
        o.id.as_str(),
        o.shown_status(),
        o.phone.as_str(),
        o.amount.as_str(),
        o.money.currency().code(),
        o.customer_kind.as_str(),
        o.locale.as_deref().unwrap_or(""),
        o.timezone.as_deref().unwrap_or(""),
        created.as_str(),
        updated.as_str(),
        items.as_str(),
    ])
}

/// One CSV record ending in CRLF (RFC 4180 §2).
pub fn line<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(f));
    }
    out.push_str("\r\n");
    out
}

/// Quote a field when it holds a comma, quote, CR or LF, or starts/ends
/// with a space (which some readers trim), doubling inner quotes.
pub fn quote(field: &str) -> String {
    let needs =
        field.contains([',', '"', '\r', '\n']) || field.starts_with(' ') || field.ends_with(' ');
    if needs {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_rfc_4180() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(line(["a", "b,c", ""]), "a,\"b,c\",\r\n");
    }
}
