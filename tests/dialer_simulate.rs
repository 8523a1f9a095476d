//! `orderline dialer simulate` (stable CLI): the built binary, `--json` as
//! JSON Lines with the three pacers and the contract's fields, and exit 2 on
//! bad arguments with a message naming the argument.

use std::process::Command;

fn simulate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_orderline"))
        .arg("dialer")
        .arg("simulate")
        .args(args)
        .output()
        .expect("the orderline binary runs")
}

const FIVE_AGENTS_ONE_HOUR: &[&str] = &[
    "--agents",
    "5",
    "--hours",
    "1",
    "--seed",
    "7",
    "--answer-rate",
    "0.3",
    "--json",
];

#[test]
fn json_reports_the_three_pacers_with_the_contract_fields() {
    let out = simulate(FIVE_AGENTS_ONE_HOUR);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    let names: Vec<&str> = lines.iter().filter_map(|v| v["pacer"].as_str()).collect();
    assert_eq!(names, ["progressive", "vicidial", "orderline"]);
    for v in &lines {
        for f in ["calls", "answered", "abandoned"] {
            assert!(v[f].is_u64(), "{f} missing in {v}");
        }
        for f in [
            "abandon_pct",
            "occupancy",
            "talk_min_per_hour",
            "mean_wait_s",
        ] {
            assert!(v[f].is_number(), "{f} missing in {v}");
        }
        let occ = v["occupancy"].as_f64().unwrap_or(-1.0);
        assert!(occ > 0.0 && occ <= 1.0, "occupancy {occ} in {v}");
        assert!(v["calls"].as_u64() >= v["answered"].as_u64());
    }
    // The same seed gives the same run (one seeded stream, no clock).
    let again = simulate(FIVE_AGENTS_ONE_HOUR);
    assert_eq!(String::from_utf8_lossy(&again.stdout), stdout);
}

#[test]
fn table_without_json() {
    let out = simulate(&["--agents", "2", "--hours", "0.5", "--seed", "1"]);
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("occupancy") && s.contains("vicidial") && s.contains("orderline"),
        "{s}"
    );
}

#[test]
fn bad_arguments_exit_2_naming_the_argument() {
    for (args, name) in [
        (
            vec!["--agents", "0", "--hours", "1", "--seed", "1"],
            "--agents",
        ),
        (
            vec!["--agents", "3", "--hours", "0", "--seed", "1"],
            "--hours",
        ),
        (
            vec![
                "--agents",
                "3",
                "--hours",
                "1",
                "--seed",
                "1",
                "--answer-rate",
                "1.5",
            ],
            "--answer-rate",
        ),
        (
            vec![
                "--agents",
                "3",
                "--hours",
                "1",
                "--seed",
                "1",
                "--machine-rate=-0.1",
            ],
            "--machine-rate",
        ),
        (
            vec![
                "--agents",
                "3",
                "--hours",
                "1",
                "--seed",
                "1",
                "--abandon-cap",
                "4",
            ],
            "--abandon-cap",
        ),
        (
            vec![
                "--agents",
                "3",
                "--hours",
                "1",
                "--seed",
                "1",
                "--abandon-cap",
                "0",
            ],
            "--abandon-cap",
        ),
        (
            vec!["--agents", "x", "--hours", "1", "--seed", "1"],
            "--agents",
        ),
        (vec!["--hours", "1", "--seed", "1"], "--agents"),
    ] {
        let out = simulate(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} exited {:?}",
            out.status
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(name),
            "{args:?}: stderr does not name {name}: {err}"
        );
    }
}
