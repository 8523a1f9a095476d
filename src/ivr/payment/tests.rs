//! The payment flow on simulated time: every rule of the module doc.

use std::path::Path;

use super::*;

const TODAY: YearMonth = YearMonth {
    year: 2026,
    month: 11,
};

fn plan() -> PaymentPlan {
    PaymentPlan::default()
}

fn flow_with(plan: &PaymentPlan) -> PaymentFlow {
    let mut vars = HashMap::new();
    vars.insert(
        "amount".into(),
        crate::media::say::amount_str("en", "2450", "PKR").expect("amount"),
    );
    PaymentFlow::new(plan, &vars, TODAY).expect("plan")
}

fn drain(f: &mut PaymentFlow) -> Vec<PaymentAction> {
    std::iter::from_fn(|| f.poll_action()).collect()
}

fn events(actions: &[PaymentAction]) -> Vec<(Step, StepStatus)> {
    actions
        .iter()
        .filter_map(|a| match a {
            PaymentAction::Progress(e) => Some((e.step, e.status)),
            _ => None,
        })
        .collect()
}

fn plays(actions: &[PaymentAction]) -> Vec<Vec<String>> {
    actions
        .iter()
        .filter_map(|a| match a {
            PaymentAction::Play(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

fn keys(f: &mut PaymentFlow, t: Instant, s: &str) {
    for c in s.chars() {
        f.handle_input(t, FlowInput::Digit(c));
    }
}

fn finished(actions: &[PaymentAction]) -> Option<PaymentOutcome> {
    actions.iter().find_map(|a| match a {
        PaymentAction::Finished(o) => Some(o.clone()),
        _ => None,
    })
}

/// Start, confirm the amount, key a whole card; returns the actions after
/// the last confirm (the `Charge`).
fn enter_card(f: &mut PaymentFlow, t: Instant, pan: &str) -> Vec<PaymentAction> {
    f.start(t);
    f.handle_input(t, FlowInput::PlaybackDone);
    keys(f, t, "1");
    keys(f, t, &format!("{pan}#"));
    keys(f, t, "1");
    keys(f, t, "1231");
    keys(f, t, "1");
    keys(f, t, "123");
    keys(f, t, "1");
    keys(f, t, "54000");
    drain(f);
    keys(f, t, "1");
    drain(f)
}

#[test]
fn default_no_input_timeout_is_60_seconds() {
    assert_eq!(plan().no_input_timeout().unwrap(), Duration::from_secs(60));
    assert_eq!(plan().max_invalid, 3);
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/payment.toml");
    let p = PaymentPlan::load(&shipped).expect("shipped payment dialplan");
    assert_eq!(p.no_input_timeout().unwrap(), Duration::from_secs(60));
    assert_eq!(p.max_invalid, 3);
    assert_eq!(p.menu, plan().menu);
}

#[test]
fn start_reads_amount_then_menu() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    let a = drain(&mut f);
    assert_eq!(events(&a), vec![(Step::Amount, StepStatus::Entering)]);
    let p = plays(&a);
    assert_eq!(p[0].first().map(String::as_str), Some("amount_to_pay"));
    assert!(p[0].contains(&"pkr".to_string()));
    assert_eq!(
        p[0].last().map(String::as_str),
        Some("press_1_confirm_2_reenter")
    );
}

#[test]
fn happy_path_charges_then_succeeds() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    f.handle_input(t0, FlowInput::PlaybackDone);
    drain(&mut f);
    keys(&mut f, t0, "1");
    let a = drain(&mut f);
    assert_eq!(
        events(&a),
        vec![
            (Step::Amount, StepStatus::Completed),
            (Step::CardNumber, StepStatus::Entering)
        ]
    );
    assert_eq!(plays(&a), vec![vec!["enter_card_number".to_string()]]);
    // The first digit barges in on the prompt.
    keys(&mut f, t0, "4");
    assert!(matches!(
        drain(&mut f).as_slice(),
        [PaymentAction::StopPlayback]
    ));
    keys(&mut f, t0, "242424242424242#");
    assert_eq!(
        plays(&drain(&mut f)),
        vec![vec!["press_1_confirm_2_reenter".to_string()]]
    );
    keys(&mut f, t0, "1");
    assert_eq!(
        events(&drain(&mut f)),
        vec![
            (Step::CardNumber, StepStatus::Completed),
            (Step::Expiry, StepStatus::Entering)
        ]
    );
    // Expiry ends itself at four digits.
    keys(&mut f, t0, "1231");
    assert!(plays(&drain(&mut f))
        .iter()
        .any(|p| p[0] == "press_1_confirm_2_reenter"));
    keys(&mut f, t0, "1");
    keys(&mut f, t0, "123");
    keys(&mut f, t0, "1");
    keys(&mut f, t0, "54000");
    keys(&mut f, t0, "1");
    let a = drain(&mut f);
    let card = a.iter().find_map(|x| match x {
        PaymentAction::Charge(c) => Some(c),
        _ => None,
    });
    let card = card.expect("a charge");
    assert_eq!(card.pan.expose_str(), "4242424242424242");
    assert_eq!(card.last_four().as_str(), "4242");
    assert_eq!(card.cvc.expose_str(), "123");
    assert_eq!(f.poll_timeout(), Some(t0 + Duration::from_secs(45)));
    f.handle_charge_result(t0, ChargeOutcome::Approved);
    assert_eq!(
        plays(&drain(&mut f)),
        vec![vec!["payment_approved".to_string()]]
    );
    assert_eq!(f.outcome(), Some(&PaymentOutcome::Succeeded));
    f.handle_input(t0, FlowInput::PlaybackDone);
    assert_eq!(finished(&drain(&mut f)), Some(PaymentOutcome::Succeeded));
    assert!(f.is_done());
}

#[test]
fn luhn_invalid_number_is_re_entered_then_succeeds() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    keys(&mut f, t0, "1");
    drain(&mut f);
    keys(&mut f, t0, "4242424242424241#");
    let a = drain(&mut f);
    let ev: Vec<_> = a
        .iter()
        .filter_map(|x| match x {
            PaymentAction::Progress(e) => Some(*e),
            _ => None,
        })
        .collect();
    assert_eq!(
        ev,
        vec![StepEvent {
            step: Step::CardNumber,
            status: StepStatus::ReEntering,
            reason: Some("card_number_check_digit"),
        }]
    );
    assert_eq!(
        plays(&a),
        vec![vec![
            "invalid_key".to_string(),
            "enter_card_number".to_string()
        ]]
    );
    keys(&mut f, t0, "4242424242424242#");
    keys(&mut f, t0, "1");
    assert_eq!(f.step(), Step::Expiry);
}

#[test]
fn press_2_re_enters_the_step() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    keys(&mut f, t0, "1");
    keys(&mut f, t0, "4242424242424242#");
    drain(&mut f);
    keys(&mut f, t0, "2");
    let a = drain(&mut f);
    assert_eq!(events(&a), vec![(Step::CardNumber, StepStatus::ReEntering)]);
    assert_eq!(plays(&a), vec![vec!["enter_card_number".to_string()]]);
    // Re-entry is not an invalid entry: three more re-entries still fine.
    for _ in 0..3 {
        keys(&mut f, t0, "4242424242424242#2");
    }
    keys(&mut f, t0, "5555555555554444#1");
    assert_eq!(f.step(), Step::Expiry);
    // Amex needs a 4-digit CVC later; Mastercard 3. Check the brand kept.
    assert_eq!(
        f.pan.as_ref().map(Pan::brand),
        Some(crate::payments::Brand::Mastercard)
    );
}

#[test]
fn press_2_on_the_amount_reads_it_again() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    let first = plays(&drain(&mut f));
    keys(&mut f, t0, "2");
    let a = drain(&mut f);
    assert_eq!(events(&a), vec![(Step::Amount, StepStatus::ReEntering)]);
    assert_eq!(plays(&a), first);
    keys(&mut f, t0, "1");
    assert_eq!(f.step(), Step::CardNumber);
}

#[test]
fn star_mid_entry_cancels() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    keys(&mut f, t0, "1");
    keys(&mut f, t0, "424242");
    drain(&mut f);
    keys(&mut f, t0, "*");
    let a = drain(&mut f);
    assert_eq!(events(&a), vec![(Step::CardNumber, StepStatus::Failed)]);
    assert_eq!(plays(&a), vec![vec!["payment_cancelled".to_string()]]);
    assert_eq!(f.outcome(), Some(&PaymentOutcome::Cancelled));
    assert!(f.entry.is_empty() && f.entry.raw() == &[0u8; PAN_MAX]);
    f.handle_input(t0, FlowInput::PlaybackDone);
    assert_eq!(finished(&drain(&mut f)), Some(PaymentOutcome::Cancelled));
}

#[test]
fn star_during_amount_prompt_stops_it_and_cancels() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    drain(&mut f);
    keys(&mut f, t0, "*");
    let a = drain(&mut f);
    assert!(matches!(a.first(), Some(PaymentAction::StopPlayback)));
    assert_eq!(f.outcome(), Some(&PaymentOutcome::Cancelled));
}

#[test]
fn silence_fails_at_exactly_the_timeout() {
    let t0 = Instant::now();
    let mut p = plan();
    p.no_input_timeout = "7s".into();
    let mut f = flow_with(&p);
    f.start(t0);
    keys(&mut f, t0, "1");
    let done = t0 + Duration::from_secs(3);
    f.handle_input(done, FlowInput::PlaybackDone);
    drain(&mut f);
    let deadline = f.poll_timeout().expect("deadline");
    assert_eq!(deadline, done + Duration::from_secs(7));
    f.handle_timeout(deadline - Duration::from_millis(1));
    assert!(drain(&mut f).is_empty());
    f.handle_timeout(deadline);
    let a = drain(&mut f);
    assert_eq!(events(&a), vec![(Step::CardNumber, StepStatus::Failed)]);
    assert_eq!(
        f.outcome(),
        Some(&PaymentOutcome::Failed(FailReason::NoInput(
            Step::CardNumber
        )))
    );
}

#[test]
fn default_silence_is_60_seconds_after_the_prompt() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    f.handle_input(t0 + Duration::from_secs(4), FlowInput::PlaybackDone);
    assert_eq!(f.poll_timeout(), Some(t0 + Duration::from_secs(64)));
    f.handle_timeout(t0 + Duration::from_secs(64));
    assert_eq!(
        f.outcome(),
        Some(&PaymentOutcome::Failed(FailReason::NoInput(Step::Amount)))
    );
}

#[test]
fn three_invalid_entries_fail_the_step() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    keys(&mut f, t0, "1");
    keys(&mut f, t0, "1234#");
    keys(&mut f, t0, "4242424242424241#");
    assert!(f.outcome().is_none());
    drain(&mut f);
    keys(&mut f, t0, "#");
    let a = drain(&mut f);
    assert_eq!(events(&a), vec![(Step::CardNumber, StepStatus::Failed)]);
    assert_eq!(
        f.outcome(),
        Some(&PaymentOutcome::Failed(FailReason::TooManyInvalid(
            Step::CardNumber
        )))
    );
    assert_eq!(plays(&a), vec![vec!["payment_declined".to_string()]]);
}

#[test]
fn expired_card_counts_as_invalid_and_max_invalid_is_configurable() {
    let t0 = Instant::now();
    let mut p = plan();
    p.max_invalid = 1;
    let mut f = flow_with(&p);
    f.start(t0);
    keys(&mut f, t0, "1");
    keys(&mut f, t0, "4242424242424242#1");
    keys(&mut f, t0, "1025");
    assert_eq!(
        f.outcome(),
        Some(&PaymentOutcome::Failed(FailReason::TooManyInvalid(
            Step::Expiry
        )))
    );
}

#[test]
fn a_pause_ends_the_card_number() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    keys(&mut f, t0, "1");
    drain(&mut f);
    let mut t = t0;
    for c in "4242424242424242".chars() {
        t += Duration::from_millis(300);
        f.handle_input(t, FlowInput::Digit(c));
    }
    drain(&mut f);
    assert_eq!(f.poll_timeout(), Some(t + Duration::from_secs(5)));
    f.handle_timeout(t + Duration::from_millis(4999));
    assert!(drain(&mut f).is_empty());
    f.handle_timeout(t + Duration::from_secs(5));
    assert_eq!(
        plays(&drain(&mut f)),
        vec![vec!["press_1_confirm_2_reenter".to_string()]]
    );
    keys(&mut f, t, "1");
    assert_eq!(f.step(), Step::Expiry);
}

#[test]
fn amex_cvc_takes_four_digits() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    keys(&mut f, t0, "1");
    keys(&mut f, t0, "378282246310005#1");
    keys(&mut f, t0, "1231");
    keys(&mut f, t0, "1");
    drain(&mut f);
    keys(&mut f, t0, "123");
    // Three digits do not end an Amex CVC.
    assert!(plays(&drain(&mut f)).is_empty());
    keys(&mut f, t0, "4");
    assert_eq!(
        plays(&drain(&mut f)),
        vec![vec!["press_1_confirm_2_reenter".to_string()]]
    );
}

#[test]
fn declined_and_gateway_failures_play_failure_and_report() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    enter_card(&mut f, t0, "4000000000000002");
    f.handle_charge_result(
        t0,
        ChargeOutcome::Declined {
            reason: "card_declined".into(),
        },
    );
    assert_eq!(
        plays(&drain(&mut f)),
        vec![vec!["payment_declined".to_string()]]
    );
    f.handle_input(t0, FlowInput::PlaybackDone);
    assert_eq!(
        finished(&drain(&mut f)),
        Some(PaymentOutcome::Failed(FailReason::Declined(
            "card_declined".into()
        )))
    );

    // The charge never answers: the guard fails the session.
    let mut f = flow_with(&plan());
    let a = enter_card(&mut f, t0, "4242424242424242");
    assert!(a.iter().any(|x| matches!(x, PaymentAction::Charge(_))));
    // `*` is too late once the charge is sent.
    keys(&mut f, t0, "*");
    assert!(drain(&mut f).is_empty());
    let g = f.poll_timeout().expect("charge guard");
    f.handle_timeout(g);
    assert_eq!(
        f.outcome(),
        Some(&PaymentOutcome::Failed(FailReason::ChargeTimeout))
    );
}

#[test]
fn hangup_mid_entry_fails_and_wipes() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    f.start(t0);
    keys(&mut f, t0, "1");
    keys(&mut f, t0, "4242424242424242#1");
    keys(&mut f, t0, "12");
    drain(&mut f);
    f.handle_input(t0, FlowInput::RemoteHangup);
    assert_eq!(
        finished(&drain(&mut f)),
        Some(PaymentOutcome::Failed(FailReason::CallerHungUp))
    );
    assert!(f.pan.is_none() && f.entry.raw() == &[0u8; PAN_MAX]);
}

#[test]
fn hangup_while_charging_still_reports_the_charge() {
    let t0 = Instant::now();
    let mut f = flow_with(&plan());
    enter_card(&mut f, t0, "4242424242424242");
    f.handle_input(t0, FlowInput::RemoteHangup);
    assert!(drain(&mut f).is_empty());
    f.handle_charge_result(t0, ChargeOutcome::Approved);
    let a = drain(&mut f);
    assert!(plays(&a).is_empty());
    assert_eq!(finished(&a), Some(PaymentOutcome::Succeeded));
}

#[test]
fn postal_step_can_be_skipped() {
    let t0 = Instant::now();
    let mut p = plan();
    p.ask_postal_code = false;
    let mut f = flow_with(&p);
    f.start(t0);
    keys(&mut f, t0, "1");
    keys(&mut f, t0, "4242424242424242#1");
    keys(&mut f, t0, "12311");
    drain(&mut f);
    keys(&mut f, t0, "1231");
    let a = drain(&mut f);
    assert!(a
        .iter()
        .any(|x| matches!(x, PaymentAction::Charge(c) if c.postal.is_none())));
}

#[test]
fn plan_validation_names_the_key() {
    let p = PaymentPlan {
        end_key: '5',
        ..plan()
    };
    assert!(p
        .validate()
        .unwrap_err()
        .to_string()
        .contains("payment.end_key"));
    let p = PaymentPlan {
        reenter_key: '1',
        ..plan()
    };
    assert!(p
        .validate()
        .unwrap_err()
        .to_string()
        .contains("payment.reenter_key"));
    let p = PaymentPlan {
        postal_code_min: 6,
        postal_code_max: 5,
        ..plan()
    };
    assert!(p.validate().is_err());
}
