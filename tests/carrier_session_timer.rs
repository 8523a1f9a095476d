//! Issue #14, SIP session timers (RFC 4028) against SIPp callers: 422 with
//! `Min-SE` for too short an interval; orderline as the refresher with
//! UPDATE, or re-INVITE when the caller's Allow lacks UPDATE; an UPDATE
//! (with a new offer) answered instead of 405; the call ended with BYE when
//! the refreshing caller lapses or answers orderline's refresh with 481.
//! The daemon runs with `min_se = "2s"`, `session_expires = "4s"` so each
//! rule shows within seconds; each caller hears an 8 s message.

#[macro_use]
mod support;

use std::path::Path;
use std::time::Duration;

use support::*;

fn prepare(dir: &Path) {
    add_sip_keys(dir, "min_se = \"2s\"\nsession_expires = \"4s\"\n");
    write_wav(
        &dir.join("prompts/en/callback_no_order.wav"),
        &vec![0; 8000 * 8],
    );
}

#[test]
fn session_timer_rules_hold_against_sipp_callers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start_with(dir.path(), free_udp_port(), "", prepare);
    let target = format!("127.0.0.1:{}", daemon.port);
    let scenarios = [
        ("uac_session_422.xml", "422 with Min-SE"),
        ("uac_session_update.xml", "orderline refreshes with UPDATE"),
        (
            "uac_session_reinvite.xml",
            "orderline refreshes with re-INVITE",
        ),
        (
            "uac_session_lapse.xml",
            "UPDATE answered; lapsed caller gets BYE",
        ),
        ("uac_session_481.xml", "refresh answered 481 gets BYE"),
    ];
    // All at once: five independent calls to one daemon.
    let running: Vec<(&str, Sipp, std::path::PathBuf)> = scenarios
        .iter()
        .map(|(file, what)| {
            let d = dir.path().join(file.trim_end_matches(".xml"));
            std::fs::create_dir_all(&d).expect("mkdir");
            let sipp = Sipp::start(
                &Path::new(SCENARIOS).join(file),
                &d,
                &[&target, "-trace_msg"],
            );
            (*what, sipp, d)
        })
        .collect();
    let mut failures = Vec::new();
    for (what, sipp, sipp_dir) in running {
        let (ok, errors) = sipp.finish(Duration::from_secs(40));
        if !ok {
            let msgs: String = std::fs::read_dir(&sipp_dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with("_messages.log"))
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect();
            failures.push(format!("{what}: {errors}\n{msgs}"));
        }
    }
    let logs = daemon.logs();
    assert!(failures.is_empty(), "{}\n{logs}", failures.join("\n"));
    // The lapsed caller and the 481 each ended by the timer, not the message.
    let expired = logs.matches("session timer expired; sending BYE").count();
    assert_eq!(expired, 2, "{logs}");
}
