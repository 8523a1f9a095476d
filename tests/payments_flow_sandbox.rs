//! The payment flow driven end to end against the sandbox gateway on
//! simulated time: the shape the call driver will take (flow → Charge →
//! `pay` → `handle_charge_result` → Finished).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use orderline::ivr::payment::{
    ChargeOutcome, FailReason, PaymentAction, PaymentFlow, PaymentOutcome, PaymentPlan,
};
use orderline::ivr::FlowInput;
use orderline::money::Currency;
use orderline::payments::card::YearMonth;
use orderline::payments::{pay, ChargeStatus, IdempotencyKey, Money, SandboxGateway};

async fn run_session(
    gw: &SandboxGateway,
    session: &str,
    pan: &str,
) -> (PaymentOutcome, Vec<String>) {
    let mut vars = HashMap::new();
    vars.insert(
        "amount".to_string(),
        orderline::media::say::amount_str("en", "2450", "PKR").expect("amount"),
    );
    let today = YearMonth {
        year: 2026,
        month: 11,
    };
    let mut flow = PaymentFlow::new(&PaymentPlan::default(), &vars, today).expect("flow");
    let key = IdempotencyKey::new(session).expect("key");
    let mut now = Instant::now();
    let mut log = Vec::new();
    flow.start(now);
    let keys = format!("1{pan}#1" /* amount ok, card, confirm */)
        + "1230"
        + "1"
        + "123"
        + "1"
        + "54000"
        + "1";
    let mut keys = keys.chars();
    loop {
        while let Some(a) = flow.poll_action() {
            match a {
                PaymentAction::Charge(card) => {
                    let r = pay(
                        gw,
                        &key,
                        card,
                        Money::from_minor(245_000, Currency::PKR),
                        Duration::from_secs(5),
                    )
                    .await;
                    log.push(format!("charge:{:?}", r.status));
                    flow.handle_charge_result(now, ChargeOutcome::from(&r));
                }
                PaymentAction::Play(_) => flow.handle_input(now, FlowInput::PlaybackDone),
                PaymentAction::Progress(e) => {
                    log.push(format!("{}:{}", e.step.as_str(), e.status.as_str()))
                }
                PaymentAction::StopPlayback => {}
                PaymentAction::Finished(o) => return (o, log),
            }
        }
        now += Duration::from_millis(250);
        match keys.next() {
            Some(k) => flow.handle_input(now, FlowInput::Digit(k)),
            None => {
                let t = flow.poll_timeout().expect("a deadline while waiting");
                flow.handle_timeout(t);
            }
        }
    }
}

#[tokio::test]
async fn approving_card_succeeds_with_every_step_completed() {
    let gw = SandboxGateway::new();
    let (outcome, log) = run_session(&gw, "pay_a", "4242424242424242").await;
    assert_eq!(outcome, PaymentOutcome::Succeeded);
    for step in ["amount", "card_number", "expiry", "cvc", "postal_code"] {
        assert!(log.contains(&format!("{step}:entering")), "{log:?}");
        assert!(log.contains(&format!("{step}:completed")), "{log:?}");
    }
    assert!(log.contains(&format!("charge:{:?}", ChargeStatus::Approved)));
}

#[tokio::test]
async fn declining_cards_fail_with_the_reason() {
    let gw = SandboxGateway::new();
    let (o, _) = run_session(&gw, "pay_d", "4000000000000002").await;
    assert_eq!(
        o,
        PaymentOutcome::Failed(FailReason::Declined("card_declined".into()))
    );
    let (o, _) = run_session(&gw, "pay_i", "4000000000009995").await;
    assert_eq!(
        o,
        PaymentOutcome::Failed(FailReason::Declined("insufficient_funds".into()))
    );
}
