//! Request parts the handlers share: the `{id}` path segment and the list
//! query (filters, keyset cursor, page size) of the JSON list and the CSV
//! export, each turned into a typed value or a JSON 400 naming the field.
//! Kept out of the handlers so that they import it one way (issue #9).

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use chrono::{DateTime, Utc};

use super::error::ApiError;
use crate::dialer::OrderStatus;
use crate::store::{ListQuery, MAX_PAGE};

/// Page size when `limit` is not given.
pub const DEFAULT_PAGE: u32 = 50;

/// The `{id}` path segment, or a JSON 400 (bad percent-encoding, not UTF-8).
pub(crate) fn path_id(id: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    id.map(|Path(id)| id)
        .map_err(|e| ApiError::bad_query("id", e.body_text()))
}

/// Parse the list filters shared by the JSON list and the CSV export.
/// `configured` says whether a name is a configured `[[dialer.statuses]]`
/// status (issue #11), which `status=` filters by too.
pub(crate) fn list_query(
    query: Option<&str>,
    allowed: &[&str],
    configured: &dyn Fn(&str) -> bool,
) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery {
        limit: DEFAULT_PAGE,
        ..ListQuery::default()
    };
    let pairs: Vec<(String, String)> = form_pairs(query.unwrap_or(""))?;
    for (key, value) in pairs {
        match key.as_str() {
            k if !allowed.contains(&k) => {
                return Err(ApiError::bad_query(
                    k,
                    format!("unknown parameter; expected one of {}", allowed.join(", ")),
                ))
            }
            "status" => match OrderStatus::parse(&value) {
                Some(s) => q.status = Some(s),
                None if configured(&value) => q.configured_status = Some(value),
                None => {
                    return Err(ApiError::bad_query(
                        "status",
                        format!(
                            "{value:?} is neither one of pending, calling, confirmed, cancelled, flagged nor a configured status"
                        ),
                    ))
                }
            },
            "from" => q.from = Some(instant("from", &value)?),
            "to" => q.to = Some(instant("to", &value)?),
            "cursor" => q.cursor = Some(value).filter(|c| !c.is_empty()),
            "limit" => {
                q.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_query(
                            "limit",
                            format!("must be a whole number from 1 to {MAX_PAGE}"),
                        )
                    })?
            }
            _ => {}
        }
    }
    Ok(q)
}

/// `application/x-www-form-urlencoded` pairs, percent-decoded.
pub(crate) fn form_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(k)
                .ok_or_else(|| ApiError::bad_query("query", "bad percent-encoding"))?;
            let v = percent_decode(v)
                .ok_or_else(|| ApiError::bad_query(k.clone(), "bad percent-encoding"))?;
            Ok((k, v))
        })
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// An instant in a query: RFC 3339 (`2026-11-23T10:00:00Z`) or epoch ms.
fn instant(field: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    let bad = || {
        ApiError::bad_query(
            field,
            format!("{value:?} is not an RFC 3339 time or epoch milliseconds"),
        )
    };
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(bad);
    }
    // An unencoded `+05:00` offset arrives as a space (form decoding): accept it.
    DateTime::parse_from_rfc3339(value)
        .or_else(|_| DateTime::parse_from_rfc3339(&value.replace(' ', "+")))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad())
}
