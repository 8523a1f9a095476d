//! Settings and ticks changed at run time go through the config's own checks.

use super::{calling, mins, parse, TEAM};
use crate::modes::{DialerConfigError, ModeSettings, Tick};

#[test]
fn a_settings_patch_changes_only_its_keys_and_is_checked_as_config() {
    let cfg = parse(TEAM).expect("team");
    let patch = ModeSettings {
        put_off: Some("45m".into()),
        priority: Some(20),
        ..ModeSettings::default()
    };
    let rules = cfg
        .with_mode_settings("new_a", &patch)
        .expect("known mode")
        .validate(&calling())
        .expect("valid");
    let idx = rules.mode_index("new_a").expect("new_a");
    let m = rules.mode(idx);
    assert_eq!((m.put_off, m.priority, m.max_attempts), (mins(45), 20, 3));
    // Other modes untouched.
    let b = rules.mode(rules.mode_index("new_b").expect("new_b"));
    assert_eq!((b.put_off, b.priority), (mins(30), 10));

    // Bad values are refused naming the same key the config file would.
    let bad = |p: ModeSettings| {
        cfg.with_mode_settings("new_a", &p)
            .expect("known mode")
            .validate(&calling())
            .expect_err("refused")
    };
    let e = bad(ModeSettings {
        put_off: Some("forever".into()),
        ..ModeSettings::default()
    });
    assert_eq!(e.key(), "dialer.modes[1].put_off", "{e}");
    let e = bad(ModeSettings {
        max_attempts: Some(0),
        ..ModeSettings::default()
    });
    assert_eq!(e.key(), "dialer.modes[1].max_attempts");
    let e = bad(ModeSettings {
        random_share: Some(0.5),
        ..ModeSettings::default()
    });
    assert!(
        matches!(e, DialerConfigError::ShareOnNonRandom { .. }),
        "{e}"
    );
    let e = bad(ModeSettings {
        status_after_max: Some("nowhere".into()),
        ..ModeSettings::default()
    });
    assert_eq!(e.key(), "dialer.modes[1].status_after_max");
    assert!(cfg
        .with_mode_settings("nope", &ModeSettings::default())
        .is_err());
}

#[test]
fn patches_merge_newest_key_first() {
    let mut stored = ModeSettings {
        put_off: Some("10m".into()),
        priority: Some(3),
        ..ModeSettings::default()
    };
    stored.merge(&ModeSettings {
        put_off: Some("20m".into()),
        ..ModeSettings::default()
    });
    assert_eq!(stored.put_off.as_deref(), Some("20m"));
    assert_eq!(stored.priority, Some(3));
}

#[test]
fn a_tick_is_set_and_cleared_per_project() {
    let cfg = parse(TEAM).expect("team");
    // Tick no_contact into reconfirm (project a): a's no_contact orders enter it.
    let tick = Tick {
        status: "no_contact".into(),
        project: "a".into(),
        mode: Some("reconfirm".into()),
    };
    let rules = cfg
        .with_tick(&tick)
        .expect("tick")
        .validate(&calling())
        .expect("valid");
    assert_eq!(rules.tick("no_contact", "a"), rules.mode_index("reconfirm"));
    assert_eq!(rules.tick("no_contact", "b"), None);
    // Clearing project a's processing tick leaves project b's.
    let clear = Tick {
        status: "processing".into(),
        project: "a".into(),
        mode: None,
    };
    let rules = cfg
        .with_tick(&clear)
        .expect("tick")
        .validate(&calling())
        .expect("valid");
    assert_eq!(rules.tick("processing", "a"), None);
    assert_eq!(rules.tick("processing", "b"), rules.mode_index("new_b"));
    assert!(rules.is_status("processing"));
    // Clearing the last tick keeps the status known.
    let cfg2 = cfg.with_tick(&clear).expect("tick");
    let last = Tick {
        project: "b".into(),
        ..clear.clone()
    };
    let rules = cfg2
        .with_tick(&last)
        .expect("tick")
        .validate(&calling())
        .expect("valid");
    assert!(rules.is_status("processing"));
    assert_eq!(rules.tick("processing", "b"), None);
    // A mode of another project, an unknown mode or status: refused.
    let wrong = Tick {
        status: "processing".into(),
        project: "b".into(),
        mode: Some("new_a".into()),
    };
    assert_eq!(
        cfg.with_tick(&wrong).expect_err("project").key(),
        "dialer.statuses.project"
    );
    let unknown = Tick {
        mode: Some("zzz".into()),
        ..wrong.clone()
    };
    assert_eq!(
        cfg.with_tick(&unknown).expect_err("mode").key(),
        "dialer.statuses.mode"
    );
    // (`shipped` is always known since issue #15: a fulfilment status.)
    let status = Tick {
        status: "teleported".into(),
        ..wrong
    };
    assert!(matches!(
        cfg.with_tick(&status),
        Err(DialerConfigError::UnknownStatus { .. })
    ));
    // A tick that would loop the cap is refused by the config's own check.
    let looping = Tick {
        status: "no_contact".into(),
        project: "a".into(),
        mode: Some("new_a".into()),
    };
    let e = cfg
        .with_tick(&looping)
        .expect("shape ok")
        .validate(&calling())
        .expect_err("loop");
    assert!(matches!(e, DialerConfigError::CapLoops { .. }), "{e}");
}

/// Issue #15: the statuses a merchant sets after the sale are known without
/// being listed, so `PUT /v1/orders/{id}/status` takes them and they can be
/// ticked into a mode like any configured status.
#[test]
fn fulfilment_statuses_are_always_known() {
    let rules = super::rules(TEAM);
    for s in crate::modes::FULFILMENT_STATUSES {
        assert!(rules.is_status(s), "{s}");
    }
    assert!(!rules.is_status("teleported"));
}
