//! The upsell mode (issue #15): its config checks, who enters it, and its
//! buttons, which end the call without touching the order's status.

use super::{calling, card, enter, finish, noon, parse, rules, DialQueue, DialResult, OrderCard};
use crate::modes::rules::UPSELL_DISPOSITIONS;
use crate::modes::{DialerConfigError, ModeKind, Subqueue};

/// A sales project: `new` for the robo-call's leads, `upsell` for paid and
/// shipped orders, and `processing` ticked into `new`.
const SHOP: &str = r#"
[[dialer.modes]]
id = "new"
kind = "new_leads"
project = "a"
agents = ["a1"]

[[dialer.modes]]
id = "upsell"
kind = "upsell"
project = "a"
max_attempts = 2
agents = ["a1"]

[[dialer.statuses]]
name = "processing"
mode = "new"

[[dialer.statuses]]
name = "paid"
mode = "upsell"

[[dialer.statuses]]
name = "shipped"
mode = "upsell"

[dialer.disposition_status]
declined = "cancelled"
"#;

fn shop() -> DialQueue {
    DialQueue::new(rules(SHOP))
}

/// An order of project `a` with an offer.
fn with_offer(id: &str) -> OrderCard {
    OrderCard {
        upsell_eligible: true,
        ..card(id, "a", 5)
    }
}

fn error_key(text: &str) -> (String, String) {
    let e = parse(text)
        .expect("parses")
        .validate(&calling())
        .expect_err("refused");
    (e.key().to_string(), e.to_string())
}

#[test]
fn the_kind_parses_and_its_defaults_are_the_upsell_buttons_and_no_cap_status() {
    let r = rules(SHOP);
    let m = r.mode(r.mode_index("upsell").expect("mode"));
    assert_eq!(m.kind, ModeKind::Upsell);
    assert_eq!(m.dispositions, UPSELL_DISPOSITIONS);
    assert_eq!(m.status_after_max, None);
    // The `[dialer.disposition_status]` entry `declined = "cancelled"`
    // belongs to other modes' `declined` button: the upsell mode ignores it.
    assert_eq!(r.disposition_status("declined"), Some("cancelled"));
}

#[test]
fn only_fulfilment_statuses_tick_into_an_upsell_mode() {
    // `paid` is ticked in SHOP already.
    for status in ["shipping", "shipped", "delivered"] {
        let text = SHOP.replace("name = \"shipped\"", &format!("name = \"{status}\""));
        rules(&text);
    }
    for status in ["processing", "confirmed", "pending"] {
        let text = SHOP.replace(
            "name = \"shipped\"\nmode = \"upsell\"",
            &format!("name = \"{status}\"\nmode = \"upsell\""),
        );
        let text = text.replace("name = \"processing\"\nmode = \"new\"", "name = \"other\"");
        let (key, msg) = error_key(&text);
        assert_eq!(key, "dialer.statuses[2].mode", "{status}: {msg}");
        assert!(msg.contains("upsell mode") && msg.contains("paid"), "{msg}");
    }
}

#[test]
fn confirmed_and_cancelled_are_no_upsell_buttons() {
    let base = "dispositions = [\"upsold\", \"declined\", \"callback\", \"no_answer\"";
    for extra in ["confirmed", "cancelled"] {
        let text = SHOP.replace(
            "max_attempts = 2\n",
            &format!("max_attempts = 2\n{base}, \"{extra}\"]\n"),
        );
        let (key, msg) = error_key(&text);
        assert_eq!(key, "dialer.modes[1].dispositions", "{msg}");
        assert!(msg.contains("never changes its status"), "{msg}");
    }
    // The upsell base set is required, as the base set is in other modes.
    let text = SHOP.replace(
        "max_attempts = 2\n",
        "max_attempts = 2\ndispositions = [\"upsold\", \"callback\", \"no_answer\"]\n",
    );
    let (key, msg) = error_key(&text);
    assert_eq!(key, "dialer.modes[1].dispositions");
    assert!(msg.contains("\"declined\""), "{msg}");
    // Another kind's buttons are a conflict with the mode's kind.
    let text = SHOP.replace(
        "max_attempts = 2\n",
        "max_attempts = 2\ndispositions = [\"confirmed\", \"cancelled\", \"callback\", \"no_answer\"]\n",
    );
    let e = parse(&text)
        .expect("parses")
        .validate(&calling())
        .expect_err("refused");
    assert!(matches!(e, DialerConfigError::KindConflict { .. }), "{e}");
    assert_eq!(e.key(), "dialer.modes[1].dispositions");
    let text = SHOP.replacen(
        "agents = [\"a1\"]\n",
        "agents = [\"a1\"]\ndispositions = [\"upsold\", \"declined\", \"callback\", \"no_answer\"]\n",
        1,
    );
    let e = parse(&text)
        .expect("parses")
        .validate(&calling())
        .expect_err("refused");
    assert!(matches!(e, DialerConfigError::KindConflict { .. }), "{e}");
    assert_eq!(e.key(), "dialer.modes[0].dispositions");
    // An extra button needs no target status in an upsell mode.
    let text = SHOP.replace(
        "max_attempts = 2\n",
        &format!("max_attempts = 2\n{base}, \"not_now\"]\n"),
    );
    let r = rules(&text);
    assert!(r.modes()[1].dispositions.iter().any(|d| d == "not_now"));
}

#[test]
fn an_upsell_mode_takes_no_status_after_max() {
    let text = SHOP.replace(
        "max_attempts = 2\n",
        "max_attempts = 2\nstatus_after_max = \"flagged\"\n",
    );
    let (key, msg) = error_key(&text);
    assert_eq!(key, "dialer.modes[1].status_after_max");
    assert!(msg.contains("never changes the order's status"), "{msg}");
}

#[test]
fn only_orders_with_an_offer_enter() {
    let mut q = shop();
    let m = enter(&mut q, card("plain", "a", 5), "paid", noon());
    assert_eq!(m.dialer, None, "no offer: nothing to upsell");
    let m = enter(&mut q, with_offer("offered"), "paid", noon());
    assert_eq!(
        m.dialer.map(|p| (p.mode, p.subqueue)),
        Some(("upsell".into(), Subqueue::Unprocessed))
    );
    // Shipped later: the same mode, the same place.
    enter(&mut q, with_offer("offered"), "shipped", noon());
    assert_eq!(
        q.placement("offered").map(|p| p.mode).as_deref(),
        Some("upsell")
    );
    assert_eq!(
        q.pick("a1", noon()).map(|p| p.order_id).as_deref(),
        Some("offered")
    );
}

#[test]
fn upsell_buttons_end_the_call_and_keep_the_status() {
    let mut q = shop();
    for id in ["u1", "u2", "u3"] {
        enter(&mut q, with_offer(id), "paid", noon());
    }
    // `declined` is mapped to `cancelled` for other modes; here it only ends the call.
    for (id, button) in [("u1", "upsold"), ("u2", "declined")] {
        assert_eq!(
            q.pick("a1", noon()).map(|p| p.order_id).as_deref(),
            Some(id)
        );
        let m = finish(&mut q, id, DialResult::Disposition(button.into()), noon());
        assert_eq!(
            (m.status, m.dialer, m.upsell_done.as_deref()),
            (None, None, Some(button))
        );
        assert!(q.placement(id).is_none());
    }
    // The robo-call's buttons are not the upsell mode's.
    assert_eq!(
        q.pick("a1", noon()).map(|p| p.order_id).as_deref(),
        Some("u3")
    );
    assert!(q
        .finish("u3", DialResult::Disposition("confirmed".into()), noon())
        .is_err());
    // `no_answer` costs an attempt; at the cap the order leaves, status kept.
    let m = finish(
        &mut q,
        "u3",
        DialResult::Disposition("no_answer".into()),
        noon(),
    );
    assert_eq!(
        (m.status.as_deref(), m.upsell_done.as_deref()),
        (None, None)
    );
    assert_eq!(
        q.placement("u3").map(|p| p.subqueue),
        Some(Subqueue::NoAnswer)
    );
    let later = noon() + chrono::TimeDelta::hours(1);
    assert_eq!(
        q.pick("a1", later).map(|p| p.order_id).as_deref(),
        Some("u3")
    );
    let m = finish(&mut q, "u3", DialResult::Busy, later);
    assert_eq!(
        (m.status, m.dialer, m.upsell_done.as_deref()),
        (None, None, Some("no_answer"))
    );
    assert!(q.is_empty());
}

#[test]
fn press_3_never_lands_in_an_upsell_mode() {
    let text = SHOP.replace(
        "[[dialer.modes]]\nid = \"new\"\nkind = \"new_leads\"\nproject = \"a\"\nagents = [\"a1\"]\n",
        "",
    )
    .replace("name = \"processing\"\nmode = \"new\"", "name = \"processing\"");
    let mut q = DialQueue::new(rules(&text));
    // A pending order of a project whose only mode is an upsell mode.
    assert!(q.operator_mode(&card("p", "a", 1), "pending").is_none());
    assert!(q
        .callback_for_anyone(card("p", "a", 1), "pending", noon(), noon())
        .is_err());
    // With the operators' mode back, press 3 goes there even when the upsell mode comes first.
    let (head, rest) = SHOP.split_at(
        SHOP.find("[[dialer.modes]]\nid = \"upsell\"")
            .expect("mode"),
    );
    let (upsell, ticks) = rest.split_at(rest.find("[[dialer.statuses]]").expect("ticks"));
    let upsell_first = format!("{upsell}{head}{ticks}");
    let r = rules(&upsell_first);
    assert_eq!(r.modes()[0].id, "upsell");
    let mut q = DialQueue::new(r);
    assert_eq!(
        q.operator_mode(&with_offer("p"), "pending")
            .map(|m| m.id.as_str()),
        Some("new")
    );
    let m = q
        .callback_for_anyone(with_offer("p"), "pending", noon(), noon())
        .expect("queued");
    assert_eq!(m.dialer.map(|p| p.mode).as_deref(), Some("new"));
}
