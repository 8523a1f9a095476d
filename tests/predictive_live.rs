//! Predictive pacing live (issue #12): two baresip agents in sessions work a
//! mode with `pacing = "predictive"`; SIPp customers answer most lines at
//! once and leave a fixed third ringing until orderline gives up (15 s).
//! The pacer dials more lines than there are agents; every live answer
//! reaches an agent or hears the safe-harbor message inside 2 s of the
//! answer (as orderline logs it: from the customer's 200 OK to the agent's
//! bridge, or to the message's first audio); abandoned and unanswered
//! orders go back to their queue (put off, one attempt), connected ones are
//! disposed by the test playing the operators; and the mode's answer and
//! abandon counts in `GET /v1/dialer/modes/{id}/stats` match what happened.
//! Nothing is lost: every order ends confirmed or put off.

#[macro_use]
mod support;

use std::time::Duration;

use support::predictive::{a_month_of_history, logged_ms};
use support::session_rig::{answers, customers_in, Rig, AGENTS};

const ORDERS: usize = 24;

const PREDICTIVE: &str = r#"
[campaign.flag_above]
new = "1"

[[dialer.modes]]
id = "new"
kind = "new_leads"
pacing = "predictive"
put_off = "30m"
status_after_max = "no_contact"
agents = ["ayesha", "bilal"]

[dialer.modes.safe_harbor]
seller_name = "Acme Shop"
callback_number = "+92 21 111 222 333"

[[dialer.statuses]]
name = "flagged"
mode = "new"

[[dialer.statuses]]
name = "no_contact"
"#;

/// The first six customers and every third after never answer (`+92303…`
/// rings until orderline gives up): the pacer learns early that lines
/// often ring out, which is when dialling ahead pays.
fn order(i: usize) -> String {
    let away = i < 6 || i % 3 == 0;
    let prefix = if away { "+92303" } else { "+92301" };
    format!(
        r#"{{"id":"PD{i:02}","phone":"{prefix}{i:07}","amount":"1500","currency":"PKR","customer":{{"kind":"new"}}}}"#
    )
}

#[test]
fn predictive_lines_reach_an_agent_or_the_message_within_two_seconds() {
    let rig = Rig::start_prepared(
        |dir, port| customers_in(dir, port, ORDERS * 2, "customer_answers_maybe_hung_up.xml"),
        PREDICTIVE,
        |dir| a_month_of_history(dir, "new"),
    );
    let phones: Vec<_> = AGENTS
        .iter()
        .map(|(id, user, pass)| rig.phone(id, user, pass))
        .collect();
    rig.wait_registered(2);
    for i in 0..ORDERS {
        let (st, v) = rig.api("POST", "/v1/orders", Some(&order(i)));
        assert_eq!(st, 201, "{v}");
    }
    let ids: Vec<&str> = AGENTS.iter().map(|(id, ..)| *id).collect();
    for id in &ids {
        rig.log_in_ready(id);
    }

    // Play the operators until every order is settled: confirmed by an
    // agent, or put off after an abandoned line.
    let mut max_level = 0f64;
    let confirmed = rig.play_operators("new", &ids, ORDERS, Duration::from_secs(150), |rig| {
        let (_, stats) = rig.api("GET", "/v1/dialer/modes/new/stats", None);
        max_level = max_level.max(stats["dial_level"].as_f64().unwrap_or(0.0));
    });

    let logs = rig.daemon.logs();
    let waited = logged_ms(&logs, "live customer connected to an agent", "waited_ms");
    let heard = logged_ms(&logs, "abandoned: no agent within", "heard_after_ms");
    assert_eq!(
        waited.len(),
        confirmed,
        "every connected customer was disposed"
    );
    assert!(
        waited.iter().all(|&ms| ms <= 2000),
        "a person within 2 s of the answer: {waited:?}"
    );
    assert!(
        heard.iter().all(|&ms| ms <= 2000),
        "the message heard within 2 s of the answer: {heard:?}"
    );
    assert!(
        max_level > 1.0,
        "the pacer dialled more than one line per agent (max dial level {max_level})"
    );

    // The mode's figures are the run's.
    let answered = (waited.len() + heard.len()) as u64;
    let (_, stats) = rig.api("GET", "/v1/dialer/modes/new/stats", None);
    assert_eq!(stats["abandoned_30d"], 60 + heard.len() as u64, "{stats}");
    assert_eq!(stats["answered_30d"], 6_000 + answered, "{stats}");
    assert_eq!(stats["today"]["abandoned"], heard.len() as u64, "{stats}");
    assert_eq!(stats["today"]["answered"], answered, "{stats}");
    assert!(
        stats["today"]["placed"].as_u64() >= Some(ORDERS as u64),
        "{stats}"
    );
    // Abandoned and unanswered orders are back in their queue, one attempt
    // each, put off; none was dialled twice.
    let (_, queue) = rig.api("GET", "/v1/dialer/queue?mode=new", None);
    let rows = queue["orders"].as_array().expect("queue").clone();
    assert_eq!(rows.len(), ORDERS - confirmed, "{queue}");
    assert!(
        rows.iter()
            .all(|r| r["attempts"] == 1 && r["subqueue"] == "no_answer"),
        "{queue}"
    );
    println!(
        "predictive run: {ORDERS} orders, {answered} answered, {confirmed} connected \
         (waited max {} ms), {} abandoned (message heard max {} ms), max dial level {max_level:.2}",
        waited.iter().max().unwrap_or(&0),
        heard.len(),
        heard.iter().max().unwrap_or(&0),
    );
    for p in &phones {
        assert_eq!(answers(p), 1, "one INVITE per phone:\n{}", p.logs());
    }
}
