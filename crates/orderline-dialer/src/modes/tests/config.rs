//! The `[dialer]` contract: the issue's block, defaults, and errors naming keys.

use chrono::TimeDelta;

use super::{calling, parse, rules, TEAM};
use crate::modes::rules::{ModeKind, Pacing, BASE_DISPOSITIONS};

/// The TOML block of issue #11, verbatim.
pub(crate) const ISSUE_BLOCK: &str = r#"
[[dialer.modes]]
id = "new"                      # [A-Za-z0-9_-]{1,64}
kind = "new_leads"              # new_leads | reconfirmation | before_buyout | random
project = "default"
pacing = "progressive"          # preview | progressive | predictive (next issue)
priority = 10                   # higher is dialled first
high_priority_new = true        # this project's new leads before other projects'
standard_time = "3m"
put_off = "30m"                 # after no answer / busy / dropped
max_attempts = 5
status_after_max = "no_contact"
random_share = 0.5              # kind = "random" only
dispositions = ["confirmed", "cancelled", "callback", "no_answer", "wrong_number"]
agents = ["a1", "a2"]           # operator access (also PUT /v1/dialer/modes/{id}/agents)

[[dialer.statuses]]
name = "processing"
mode = "new"                    # the "add to dial-up automatically" tick; omit for none

[dialer.disposition_status]     # where a disposition moves the order
confirmed = "confirmed"
cancelled = "cancelled"
"#;

#[test]
fn the_issue_block_parses_and_its_loose_ends_are_named() {
    let cfg = parse(ISSUE_BLOCK).expect("the issue's block parses");
    assert_eq!(cfg.modes.len(), 1);
    assert_eq!(cfg.modes[0].kind, ModeKind::NewLeads);
    assert_eq!(cfg.modes[0].pacing, Pacing::Progressive);
    // As printed, the block names `no_contact` and `wrong_number` without
    // declaring them, and sets random_share on a new_leads mode (its comment
    // says random only): validation names each loose end in turn.
    let e = cfg.validate(&calling()).unwrap_err();
    assert_eq!(e.key(), "dialer.modes[0].status_after_max", "{e}");
    let declared = ISSUE_BLOCK.replace(
        "[dialer.disposition_status]",
        "[[dialer.statuses]]\nname = \"no_contact\"\n[[dialer.statuses]]\nname = \"wrong_number\"\n[dialer.disposition_status]\nwrong_number = \"wrong_number\"",
    );
    let e = parse(&declared)
        .expect("parses")
        .validate(&calling())
        .unwrap_err();
    assert_eq!(e.key(), "dialer.modes[0].random_share", "{e}");
    let fixed = declared.replace("random_share = 0.5 ", "");
    let e = parse(&fixed.replace("wrong_number = \"wrong_number\"", ""))
        .expect("parses")
        .validate(&calling())
        .unwrap_err();
    assert_eq!(
        e.key(),
        "dialer.modes[0].dispositions",
        "an extra disposition needs a target status: {e}"
    );
    let rules = rules(&fixed);
    let m = &rules.modes()[0];
    assert_eq!((m.id.as_str(), m.priority, m.max_attempts), ("new", 10, 5));
    assert_eq!(m.put_off, TimeDelta::minutes(30));
    assert_eq!(m.standard_time, TimeDelta::minutes(3));
    assert!(m.project_boost());
    assert_eq!(
        m.agents.iter().map(String::as_str).collect::<Vec<_>>(),
        ["a1", "a2"]
    );
    assert_eq!(rules.tick("processing", "default"), Some(0));
    assert_eq!(rules.tick("processing", "other"), None);
    assert_eq!(
        rules.disposition_status("wrong_number"),
        Some("wrong_number")
    );
    assert_eq!(rules.disposition_status("callback"), None);
}

#[test]
fn defaults_come_from_the_campaign_and_the_base_set() {
    let rules = rules("[[dialer.modes]]\nid = \"m\"\nkind = \"before_buyout\"\n");
    let m = &rules.modes()[0];
    assert_eq!(m.project, "default");
    assert_eq!(m.pacing, Pacing::Progressive);
    assert_eq!(m.status_after_max.as_deref(), Some("flagged"));
    assert_eq!(m.dispositions, BASE_DISPOSITIONS);
    assert_eq!(m.window, calling());
    assert!(m.agents.is_empty(), "empty agents is allowed");
    // confirmed/cancelled lead to the built-in statuses without configuration.
    assert_eq!(rules.disposition_status("confirmed"), Some("confirmed"));
    // A built-in status may carry a tick.
    let r = super::rules("[[dialer.modes]]\nid = \"h\"\nkind = \"new_leads\"\nstatus_after_max = \"cancelled\"\n[[dialer.statuses]]\nname = \"flagged\"\nmode = \"h\"\n");
    assert_eq!(r.tick("flagged", "default"), Some(0));
}

#[test]
fn a_mode_may_set_its_own_window_or_zone() {
    let r = rules(
        "[[dialer.modes]]\nid = \"m\"\nkind = \"new_leads\"\ntimezone = \"America/New_York\"\n",
    );
    assert_eq!(r.modes()[0].window.timezone().name(), "America/New_York");
    assert_eq!(r.modes()[0].window.hours(), "09:00-21:00");
    let r = rules("[[dialer.modes]]\nid = \"m\"\nkind = \"new_leads\"\nwindow = \"10:00-18:00\"\n");
    assert_eq!(r.modes()[0].window.hours(), "10:00-18:00");
    assert_eq!(r.modes()[0].window.timezone().name(), "UTC");
}

/// Each config text parses, fails validation, and the error and its
/// message name the key.
fn assert_each_names_its_key(cases: Vec<(String, &str)>) {
    for (text, key) in cases {
        let cfg = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let e = cfg.validate(&calling()).expect_err(&text);
        assert_eq!(e.key(), key, "{text}: {e}");
        assert!(
            e.to_string().contains(key),
            "the message names the key: {e}"
        );
    }
}

#[test]
fn bad_configs_name_the_key() {
    let m = "[[dialer.modes]]\nid = \"m\"\nkind = \"new_leads\"\n";
    let two = format!("{m}[[dialer.modes]]\nid = \"n\"\nkind = \"new_leads\"\n");
    let cases: Vec<(String, &str)> = vec![
        (format!("{two}put_off = \"soon\"\n"), "dialer.modes[1].put_off"),
        (format!("{two}put_off = \"40days\"\n"), "dialer.modes[1].put_off"),
        (format!("{m}standard_time = \"0s\"\n"), "dialer.modes[0].standard_time"),
        (format!("{m}{m}"), "dialer.modes[1].id"),
        ("[[dialer.modes]]\nid = \"a b\"\nkind = \"new_leads\"\n".into(), "dialer.modes[0].id"),
        (format!("[[dialer.modes]]\nid = \"{}\"\nkind = \"new_leads\"\n", "x".repeat(65)), "dialer.modes[0].id"),
        (format!("{m}max_attempts = 0\n"), "dialer.modes[0].max_attempts"),
        (format!("{m}status_after_max = \"lost\"\n"), "dialer.modes[0].status_after_max"),
        (format!("{m}random_share = 0.5\n"), "dialer.modes[0].random_share"),
        ("[[dialer.modes]]\nid = \"q\"\nkind = \"random\"\n".into(), "dialer.modes[0].random_share"),
        ("[[dialer.modes]]\nid = \"q\"\nkind = \"random\"\nrandom_share = 0.0\n".into(), "dialer.modes[0].random_share"),
        ("[[dialer.modes]]\nid = \"q\"\nkind = \"random\"\nrandom_share = 1.5\n".into(), "dialer.modes[0].random_share"),
        (format!("{m}dispositions = [\"confirmed\", \"cancelled\", \"callback\"]\n"), "dialer.modes[0].dispositions"),
        (
            format!("{m}dispositions = [\"confirmed\", \"cancelled\", \"callback\", \"no_answer\", \"x\", \"y\", \"z\"]\n"),
            "dialer.modes[0].dispositions",
        ),
        (format!("{m}dispositions = [\"confirmed\", \"cancelled\", \"callback\", \"no_answer\", \"wrong\"]\n"), "dialer.modes[0].dispositions"),
        (format!("{m}agents = [\"a1\", \"a1\"]\n"), "dialer.modes[0].agents"),
        (format!("{m}agents = [\"a 1\"]\n"), "dialer.modes[0].agents[0]"),
        (format!("{m}window = \"21:00-08:00\"\n"), "dialer.modes[0].window"),
        (format!("{m}timezone = \"Mars/Olympus\"\n"), "dialer.modes[0].timezone"),
        (format!("{m}[[dialer.statuses]]\nname = \"s\"\nmode = \"nope\"\n"), "dialer.statuses[0].mode"),
        (format!("{two}[[dialer.statuses]]\nname = \"s\"\nmode = \"m\"\n[[dialer.statuses]]\nname = \"s\"\nmode = \"n\"\n"), "dialer.statuses[1].mode"),
        ("[[dialer.statuses]]\nname = \"s\"\n[[dialer.statuses]]\nname = \"s\"\n".into(), "dialer.statuses[1].name"),
        ("[dialer.disposition_status]\nconfirmed = \"done\"\n".into(), "dialer.disposition_status.confirmed"),
        ("[dialer.disposition_status]\ncallback = \"confirmed\"\n".into(), "dialer.disposition_status.callback"),
        (format!("{m}status_after_max = \"s\"\n[[dialer.statuses]]\nname = \"s\"\nmode = \"m\"\n"), "dialer.modes[0].status_after_max"),
    ];
    assert_each_names_its_key(cases);
    // Unknown keys are refused by serde, naming the key.
    let e = parse(&format!("{m}put_of = \"3m\"\n")).unwrap_err();
    assert!(e.to_string().contains("put_of"), "{e}");
    let e = parse(&format!("{m}kind2 = 1\n")).unwrap_err();
    assert!(e.to_string().contains("kind2"), "{e}");
    assert!(parse("[[dialer.modes]]\nid = \"m\"\nkind = \"vip\"\n").is_err());
}

#[test]
fn the_test_team_config_is_valid() {
    let r = rules(TEAM);
    assert_eq!(r.modes().len(), 4);
    assert_eq!(r.tick("processing", "a"), r.mode_index("new_a"));
    assert_eq!(r.tick("processing", "b"), r.mode_index("new_b"));
    assert_eq!(r.tick("confirmed", "b"), None);
}

/// A predictive mode with its safe-harbor message (issue #12).
const PREDICTIVE: &str =
    "[[dialer.modes]]\nid = \"p\"\nkind = \"new_leads\"\npacing = \"predictive\"\n";
const HARBOR: &str = "[dialer.modes.safe_harbor]\nseller_name = \"Acme Shop\"\ncallback_number = \"+92 21 111 222 333\"\n";

#[test]
fn a_predictive_mode_carries_its_safe_harbor_cap_and_ring() {
    let r = rules(&format!(
        "{PREDICTIVE}abandon_cap = 2.5\nring_timeout = \"20s\"\n{HARBOR}messages = {{ ur = \"{{seller}}: {{number}}\" }}\n"
    ));
    let m = &r.modes()[0];
    assert_eq!(m.pacing, Pacing::Predictive);
    assert_eq!(m.abandon_cap_pct, 2.5);
    assert_eq!(m.ring_timeout, Some(TimeDelta::seconds(20)));
    let h = m.safe_harbor.as_ref().expect("kept");
    assert_eq!(h.message("ur-PK"), "Acme Shop: +92 21 111 222 333");
    // Defaults: the legal cap, the campaign's ring time.
    let r = rules(&format!("{PREDICTIVE}{HARBOR}"));
    assert_eq!(r.modes()[0].abandon_cap_pct, 3.0);
    assert_eq!(r.modes()[0].ring_timeout, None);
}

#[test]
fn pacing_rule_breaches_name_the_key() {
    let cases: Vec<(String, &str)> = vec![
        (PREDICTIVE.to_string(), "dialer.modes[0].safe_harbor"),
        (format!("{PREDICTIVE}abandon_cap = 3.5\n{HARBOR}"), "dialer.modes[0].abandon_cap"),
        (format!("{PREDICTIVE}abandon_cap = 0.0\n{HARBOR}"), "dialer.modes[0].abandon_cap"),
        (format!("{PREDICTIVE}ring_timeout = \"14s\"\n{HARBOR}"), "dialer.modes[0].ring_timeout"),
        (format!("{PREDICTIVE}ring_timeout = \"soon\"\n{HARBOR}"), "dialer.modes[0].ring_timeout"),
        (
            format!("{PREDICTIVE}[dialer.modes.safe_harbor]\nseller_name = \"\"\ncallback_number = \"+92 21 111 222 333\"\n"),
            "dialer.modes[0].safe_harbor.seller_name",
        ),
        (
            format!("{PREDICTIVE}[dialer.modes.safe_harbor]\nseller_name = \"Acme\"\ncallback_number = \"call us\"\n"),
            "dialer.modes[0].safe_harbor.callback_number",
        ),
        (
            format!("{PREDICTIVE}{HARBOR}messages = {{ en = \"Bye\" }}\n"),
            "dialer.modes[0].safe_harbor.messages.en",
        ),
    ];
    assert_each_names_its_key(cases);
    // A progressive mode needs no message (it never abandons).
    let r = rules("[[dialer.modes]]\nid = \"m\"\nkind = \"new_leads\"\n");
    assert!(r.modes()[0].safe_harbor.is_none());
    // The safe-harbor table refuses unknown keys.
    assert!(parse(&format!("{PREDICTIVE}{HARBOR}seller = \"x\"\n")).is_err());
}
