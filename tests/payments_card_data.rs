//! Card data never leaks through formatting, errors or progress events, and
//! buffers are zero after use (DESIGN.md "Card data", PCI DSS Req. 3.3, 3.4).
//!
//! Each check looks for digit runs of the card as keyed: the PAN (any run of
//! five or more of its consecutive digits — the last four alone may be shown),
//! the CVC and the expiry (as MMYY, MM/YY and the bare year-month pair).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use orderline::ivr::payment::{PaymentAction, PaymentFlow, PaymentPlan};
use orderline::ivr::FlowInput;
use orderline::payments::card::{
    CardDetails, CardError, Cvc, DigitBuf, Expiry, Pan, PostalCode, PostalRule, YearMonth,
};
use zeroize::Zeroize;

const PAN: &str = "4000056655665556"; // Visa debit test card
const EXPIRY: &str = "0731";
const CVC: &str = "987";
const POSTAL: &str = "54813";
const TODAY: YearMonth = YearMonth {
    year: 2026,
    month: 11,
};

/// The needles a formatted string must not contain.
fn needles() -> Vec<String> {
    let mut v: Vec<String> = (0..=PAN.len() - 5)
        .flat_map(|i| (i + 5..=PAN.len()).map(move |j| PAN[i..j].to_string()))
        .collect();
    v.extend([
        EXPIRY.to_string(),
        "07/31".into(),
        "07/2031".into(),
        CVC.to_string(),
        POSTAL.to_string(),
    ]);
    v
}

fn assert_clean(what: &str, s: &str) {
    for n in needles() {
        assert!(!s.contains(&n), "{what} leaks card data {n:?}: {s}");
    }
}

fn card() -> CardDetails {
    let pan = Pan::parse(PAN).expect("pan");
    let cvc = Cvc::parse(CVC, pan.brand()).expect("cvc");
    CardDetails {
        pan,
        expiry: Expiry::parse(EXPIRY, TODAY).expect("expiry"),
        cvc,
        postal: Some(PostalCode::parse(POSTAL, PostalRule::default()).expect("postal")),
    }
}

#[test]
fn the_check_itself_can_fail() {
    // Guard against a vacuous test: a plain string with the PAN is caught.
    let leaked = std::panic::catch_unwind(|| assert_clean("plain", &format!("x{PAN}x")));
    assert!(leaked.is_err());
    let leaked = std::panic::catch_unwind(|| assert_clean("cvc", "cvc=987"));
    assert!(leaked.is_err());
}

#[test]
fn debug_of_every_card_type_is_redacted() {
    let c = card();
    assert_clean("CardDetails", &format!("{c:?} {c:#?}"));
    assert_clean("Pan", &format!("{:?}", c.pan));
    assert_clean("Expiry", &format!("{:?}", c.expiry));
    assert_clean("Cvc", &format!("{:?}", c.cvc));
    assert_clean("PostalCode", &format!("{:?}", c.postal));
    let buf = DigitBuf::<19>::from_digits(PAN).expect("buf");
    assert_clean("DigitBuf", &format!("{buf:?}"));
    // What may be shown is shown.
    assert!(format!("{c:?}").contains("5556"));
    assert!(format!("{c:?}").contains("visa"));
}

#[test]
fn errors_never_contain_card_digits() {
    let errs: Vec<CardError> = vec![
        Pan::parse("4000056655665557").unwrap_err(),
        Pan::parse("40000566556655").unwrap_err(),
        Expiry::parse("0725", TODAY).unwrap_err(),
        Expiry::parse("1331", TODAY).unwrap_err(),
        Cvc::parse("9876", orderline::payments::Brand::Visa).unwrap_err(),
        PostalCode::parse("548139", PostalRule::default()).unwrap_err(),
    ];
    for e in errs {
        assert_clean("CardError", &format!("{e} {e:?} {}", e.code()));
    }
}

#[test]
fn zeroize_leaves_only_zeros() {
    let mut b = DigitBuf::<19>::from_digits(PAN).expect("buf");
    assert!(b.raw().iter().any(|&x| x != 0));
    b.zeroize();
    assert_eq!(b.raw(), &[0u8; 19]);
    assert_eq!(b.expose_str(), "");
}

#[test]
fn the_flow_and_its_events_never_show_the_card() {
    let mut vars = HashMap::new();
    vars.insert("amount".into(), vec!["5".into(), "usd".into()]);
    let mut f = PaymentFlow::new(&PaymentPlan::default(), &vars, TODAY).expect("flow");
    let t0 = Instant::now();
    let mut seen = String::new();
    let mut charge = None;
    let mut feed = |f: &mut PaymentFlow, keys: &str, seen: &mut String| {
        for k in keys.chars() {
            f.handle_input(t0, FlowInput::Digit(k));
            // The flow's Debug, mid-entry, must not show the partial entry.
            seen.push_str(&format!("{f:?}\n"));
        }
        while let Some(a) = f.poll_action() {
            seen.push_str(&format!("{a:?}\n"));
            if let PaymentAction::Progress(e) = &a {
                seen.push_str(&serde_json::to_string(e).expect("json"));
            }
            if let PaymentAction::Charge(c) = a {
                charge = Some(c);
            }
        }
    };
    f.start(t0);
    feed(&mut f, "1", &mut seen);
    // A Luhn-invalid attempt first (its digits, too, must not show).
    feed(&mut f, "4000056655665557#", &mut seen);
    feed(
        &mut f,
        &format!("{PAN}#1{EXPIRY}1{CVC}1{POSTAL}1"),
        &mut seen,
    );
    f.handle_timeout(t0 + Duration::from_secs(1));
    assert_clean("flow output", &seen);
    assert!(seen.contains("re-entering"), "events were produced: {seen}");
    let c = charge.expect("the flow asked for a charge");
    assert_eq!(c.pan.expose_str(), PAN);
    assert_eq!(c.cvc.expose_str(), CVC);
    assert_eq!(c.expiry.expose_month(), "07");
}

/// The sans-IO rule: card validation and the payment flow read no clock and
/// use no runtime (DESIGN.md "Sans-IO core", "Time is injected").
#[test]
fn card_and_flow_are_sans_io() {
    let root = env!("CARGO_MANIFEST_DIR");
    for file in [
        "src/payments/card.rs",
        "src/ivr/payment/mod.rs",
        "src/ivr/payment/plan.rs",
        "src/ivr/payment/vocab.rs",
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect("source");
        // Unit tests may make a base `Instant`; the code above them may not.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        assert!(code.len() > 1000, "{file}: code found");
        for banned in [
            "tokio",
            "Instant::now",
            "SystemTime",
            "Utc::now",
            "Local::now",
            "tracing::",
            "println!",
            "eprintln!",
        ] {
            assert!(!code.contains(banned), "{file} uses {banned}");
        }
    }
}
