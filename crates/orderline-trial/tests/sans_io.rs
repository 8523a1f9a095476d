//! The crate's manifest keeps tokio, sqlx and HTTP out; `std` cannot keep
//! the clock or the file system out, so this scan does (as
//! `tests/dialer_campaign.rs` does for `src/dialer`).

#[test]
fn the_trial_rules_read_no_clock_and_do_no_io() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("src exists") {
        let path = entry.expect("dir entry").path();
        let text = std::fs::read_to_string(&path).expect("readable source");
        for banned in [
            "tokio",
            "sqlx",
            "Utc::now",
            "Local::now",
            "Instant::now",
            "SystemTime",
            "std::net",
            "std::fs",
            "reqwest",
        ] {
            assert!(
                !text.contains(banned),
                "{} mentions {banned}",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 1, "expected the crate's sources");
}
