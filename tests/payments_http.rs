//! The HTTP processor adapter against a local axum server on 127.0.0.1 that
//! stands in for the processor: approve, decline, 500, slow → timeout,
//! unreachable, and the same idempotency key on every retry.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use orderline::money::Currency;
use orderline::payments::card::{CardDetails, Cvc, Expiry, Pan, PostalCode, PostalRule, YearMonth};
use orderline::payments::{
    pay, Brand, ChargeResult, ChargeStatus, HttpProcessor, HttpProcessorConfig, IdempotencyKey,
    Money,
};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Normal,
    Always500,
    First500,
    SlowTokens,
}

#[derive(Debug, Clone)]
struct Seen {
    path: &'static str,
    key: Option<String>,
    auth: Option<String>,
    body: String,
}

struct Processor {
    mode: Mode,
    charges: AtomicU32,
    seen: Mutex<Vec<Seen>>,
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

impl Processor {
    fn record(&self, path: &'static str, h: &HeaderMap, body: &str) {
        if let Ok(mut s) = self.seen.lock() {
            s.push(Seen {
                path,
                key: header(h, "idempotency-key"),
                auth: header(h, "authorization"),
                body: body.to_string(),
            });
        }
    }

    fn seen(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .map(|s| s.iter().filter(|x| x.path == path).cloned().collect())
            .unwrap_or_default()
    }
}

async fn tokens(
    State(p): State<Arc<Processor>>,
    h: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    p.record("tokens", &h, &body);
    if p.mode == Mode::SlowTokens {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let number = field(&body, "card%5Bnumber%5D").unwrap_or("");
    let last4 = &number[number.len().saturating_sub(4)..];
    (
        StatusCode::OK,
        Json(json!({"id": format!("tok_{last4}"), "object": "token"})),
    )
}

async fn charges(
    State(p): State<Arc<Processor>>,
    h: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    p.record("charges", &h, &body);
    let n = p.charges.fetch_add(1, Ordering::SeqCst);
    if p.mode == Mode::Always500 || (p.mode == Mode::First500 && n == 0) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"type": "api_error"}})),
        );
    }
    match field(&body, "source").unwrap_or("") {
        "tok_4242" => (
            StatusCode::OK,
            Json(json!({"id": "ch_ok_1", "status": "succeeded"})),
        ),
        "tok_0002" => (
            StatusCode::PAYMENT_REQUIRED,
            Json(
                json!({"error": {"type": "card_error", "code": "card_declined",
                                  "message": "Your card 4000000000000002 was declined.", "charge": "ch_dec_2"}}),
            ),
        ),
        "tok_9995" => (
            StatusCode::PAYMENT_REQUIRED,
            Json(
                json!({"error": {"type": "card_error", "code": "card_declined",
                                  "decline_code": "insufficient_funds", "charge": "ch_dec_3"}}),
            ),
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"type": "invalid_request_error"}})),
        ),
    }
}

async fn processor(mode: Mode) -> (Arc<Processor>, String) {
    let p = Arc::new(Processor {
        mode,
        charges: AtomicU32::new(0),
        seen: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/v1/tokens", post(tokens))
        .route("/v1/charges", post(charges))
        .with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (p, format!("http://{addr}"))
}

fn adapter(base: &str, timeout_ms: u64) -> HttpProcessor {
    HttpProcessor::new(&HttpProcessorConfig {
        base_url: base.to_string(),
        secret_key: "sk_test_local".into(),
        timeout_ms,
        retries: 1,
    })
    .expect("adapter")
}

fn card(pan: &str) -> CardDetails {
    let pan = Pan::parse(pan).expect("pan");
    let cvc = Cvc::parse("123", pan.brand()).expect("cvc");
    CardDetails {
        pan,
        expiry: Expiry::parse(
            "0731",
            YearMonth {
                year: 2026,
                month: 11,
            },
        )
        .expect("expiry"),
        cvc,
        postal: Some(PostalCode::parse("54000", PostalRule::default()).expect("postal")),
    }
}

fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).expect("key")
}

const DEADLINE: Duration = Duration::from_secs(10);

/// One US$1.00 payment of a test card under session key `k`.
async fn pay_usd(gw: &HttpProcessor, k: &str, pan: &str) -> ChargeResult {
    pay(
        gw,
        &key(k),
        card(pan),
        Money::from_minor(100, Currency::parse("USD").expect("USD")),
        DEADLINE,
    )
    .await
}

#[tokio::test]
async fn approve_tokenizes_then_charges_with_the_session_key() {
    let (p, base) = processor(Mode::Normal).await;
    let gw = adapter(&base, 2_000);
    let r = pay(
        &gw,
        &key("pay_ok"),
        card("4242424242424242"),
        Money::from_minor(245_000, Currency::PKR),
        DEADLINE,
    )
    .await;
    assert_eq!(r.status, ChargeStatus::Approved, "{r:?}");
    assert_eq!(r.transaction_id.as_deref(), Some("ch_ok_1"));
    assert_eq!(r.token.as_deref(), Some("tok_4242"));
    assert_eq!((r.brand, r.last_four.as_str()), (Brand::Visa, "4242"));
    assert_eq!(r.amount, Money::from_minor(245_000, Currency::PKR));

    let tok = p.seen("tokens");
    assert_eq!(tok.len(), 1);
    assert_eq!(tok[0].auth.as_deref(), Some("Bearer sk_test_local"));
    assert_eq!(
        field(&tok[0].body, "card%5Bnumber%5D"),
        Some("4242424242424242")
    );
    assert_eq!(field(&tok[0].body, "card%5Bexp_month%5D"), Some("07"));
    assert_eq!(field(&tok[0].body, "card%5Bexp_year%5D"), Some("31"));
    assert_eq!(field(&tok[0].body, "card%5Bcvc%5D"), Some("123"));
    assert_eq!(field(&tok[0].body, "card%5Baddress_zip%5D"), Some("54000"));
    let ch = p.seen("charges");
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].key.as_deref(), Some("pay_ok"));
    assert_eq!(field(&ch[0].body, "amount"), Some("245000"));
    assert_eq!(field(&ch[0].body, "currency"), Some("pkr"));
    // The card travels once, in tokenize; the charge carries only the token.
    assert!(!ch[0].body.contains("4242424242424242") && !ch[0].body.contains("cvc"));
}

#[tokio::test]
async fn declines_carry_the_decline_code_and_no_processor_text() {
    let (_p, base) = processor(Mode::Normal).await;
    let gw = adapter(&base, 2_000);
    let r = pay_usd(&gw, "pay_dec", "4000000000000002").await;
    assert_eq!(
        (r.status, r.reason.as_deref()),
        (ChargeStatus::Declined, Some("card_declined"))
    );
    assert_eq!(r.transaction_id.as_deref(), Some("ch_dec_2"));
    // The processor's message echoed the card number; nothing of it is kept.
    assert!(!format!("{r:?}").contains("4000000000000002"));
    let r = pay_usd(&gw, "pay_nsf", "4000000000009995").await;
    assert_eq!(
        (r.status, r.reason.as_deref()),
        (ChargeStatus::Declined, Some("insufficient_funds"))
    );
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_key_then_fails() {
    let (p, base) = processor(Mode::Always500).await;
    let gw = adapter(&base, 2_000);
    let r = pay_usd(&gw, "pay_500", "4242424242424242").await;
    assert_eq!(
        (r.status, r.reason.as_deref()),
        (ChargeStatus::Failed, Some("processor_error_500"))
    );
    let ch = p.seen("charges");
    assert_eq!(ch.len(), 2, "one try and one retry");
    assert!(ch.iter().all(|c| c.key.as_deref() == Some("pay_500")));
}

#[tokio::test]
async fn a_retry_after_one_500_succeeds_under_the_same_key() {
    let (p, base) = processor(Mode::First500).await;
    let gw = adapter(&base, 2_000);
    let r = pay_usd(&gw, "pay_retry", "4242424242424242").await;
    assert_eq!(r.status, ChargeStatus::Approved, "{r:?}");
    let keys: Vec<_> = p.seen("charges").into_iter().map(|c| c.key).collect();
    assert_eq!(
        keys,
        vec![Some("pay_retry".to_string()), Some("pay_retry".to_string())]
    );
}

#[tokio::test]
async fn a_slow_processor_times_out_instead_of_hanging() {
    let (p, base) = processor(Mode::SlowTokens).await;
    let gw = adapter(&base, 200);
    let t = Instant::now();
    let r = pay_usd(&gw, "pay_slow", "4242424242424242").await;
    assert_eq!(
        (r.status, r.reason.as_deref()),
        (ChargeStatus::Failed, Some("timeout"))
    );
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    // Retried once (same derived key), never charged.
    let tok = p.seen("tokens");
    assert_eq!(tok.len(), 2);
    assert!(tok
        .iter()
        .all(|s| s.key.as_deref() == Some("pay_slow:tokenize")));
    assert!(p.seen("charges").is_empty());

    // The overall deadline of `pay` also bounds a patient adapter.
    let gw = adapter(&base, 60_000);
    let t = Instant::now();
    let r = pay(
        &gw,
        &key("pay_slow2"),
        card("4242424242424242"),
        Money::from_minor(100, Currency::parse("USD").expect("USD")),
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(
        (r.status, r.reason.as_deref()),
        (ChargeStatus::Failed, Some("timeout"))
    );
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_unreachable_processor_fails_with_a_reason() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let gw = adapter(&format!("http://{addr}"), 500);
    let r = pay_usd(&gw, "pay_down", "4242424242424242").await;
    assert_eq!(
        (r.status, r.reason.as_deref()),
        (ChargeStatus::Failed, Some("unreachable"))
    );
    assert_eq!(r.last_four.as_str(), "4242");
}
