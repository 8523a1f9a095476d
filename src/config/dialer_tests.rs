//! `[dialer]` in the root config: the issue #11 block loads, bad keys are named.

use super::Config;

/// The issue's `[dialer]` block, with the two statuses it names declared and
/// `random_share` dropped (the mode is `new_leads`; the key is for `random` only).
const SAMPLE: &str = r#"
[calling]
window = "09:15-20:45"
timezone = "Asia/Karachi"

[[dialer.modes]]
id = "new"
kind = "new_leads"
project = "default"
pacing = "progressive"
priority = 10
high_priority_new = true
standard_time = "3m"
put_off = "30m"
max_attempts = 5
status_after_max = "no_contact"
dispositions = ["confirmed", "cancelled", "callback", "no_answer", "wrong_number"]
agents = ["a1", "a2"]

[[dialer.modes]]
id = "qa"
kind = "random"
random_share = 0.5
window = "10:00-18:00"

[[dialer.statuses]]
name = "processing"
mode = "new"

[[dialer.statuses]]
name = "confirmed"
mode = "qa"

[[dialer.statuses]]
name = "no_contact"

[[dialer.statuses]]
name = "wrong_number"

[dialer.disposition_status]
confirmed = "confirmed"
cancelled = "cancelled"
wrong_number = "wrong_number"
"#;

#[test]
fn the_issue_dialer_block_loads_with_the_campaign_window_as_default() {
    let cfg = Config::from_toml(SAMPLE).expect("sample config is valid");
    let modes = cfg.dialer_modes().expect("checked again");
    assert_eq!(modes.modes().len(), 2);
    let new = &modes.modes()[0];
    assert_eq!(
        (new.id.as_str(), new.max_attempts, new.put_off.num_minutes()),
        ("new", 5, 30)
    );
    assert_eq!(new.window.hours(), "09:15-20:45", "from [calling]");
    assert_eq!(new.window.timezone().name(), "Asia/Karachi");
    assert_eq!(modes.modes()[1].window.hours(), "10:00-18:00");
    assert_eq!(modes.tick("processing", "default"), Some(0));
    // No [dialer] at all is fine: no modes.
    let empty = Config::from_toml("").expect("empty config");
    assert!(empty.dialer.modes.is_empty());
}

#[test]
fn a_bad_dialer_key_is_named() {
    let cases = [
        (
            SAMPLE.replace("put_off = \"30m\"", "put_off = \"half an hour\""),
            "dialer.modes[0].put_off",
        ),
        (
            SAMPLE.replace(
                "status_after_max = \"no_contact\"",
                "status_after_max = \"gone\"",
            ),
            "dialer.modes[0].status_after_max",
        ),
        (
            SAMPLE.replace("mode = \"qa\"", "mode = \"qb\""),
            "dialer.statuses[1].mode",
        ),
        (
            SAMPLE.replace(
                "wrong_number = \"wrong_number\"",
                "wrong_number = \"nowhere\"",
            ),
            "dialer.disposition_status.wrong_number",
        ),
        (
            SAMPLE.replace("id = \"qa\"", "id = \"new\""),
            "dialer.modes[1].id",
        ),
        (
            SAMPLE.replace("put_off = \"30m\"", "put_of = \"30m\""),
            "put_of",
        ),
        // Issue #12: predictive pacing needs its safe-harbor message, the
        // cap stays within 3 % and lines ring at least 15 s.
        (
            SAMPLE.replace("pacing = \"progressive\"", "pacing = \"predictive\""),
            "dialer.modes[0].safe_harbor",
        ),
        (
            SAMPLE.replace("priority = 10", "priority = 10\nabandon_cap = 4.0"),
            "dialer.modes[0].abandon_cap",
        ),
        (
            SAMPLE.replace("priority = 10", "priority = 10\nring_timeout = \"10s\""),
            "dialer.modes[0].ring_timeout",
        ),
    ];
    for (text, key) in cases {
        let err = Config::from_toml(&text).expect_err(key).to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
}
