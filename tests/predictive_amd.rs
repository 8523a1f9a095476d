//! Predictive pacing with answering-machine detection, live (issue #12):
//! three baresip agents in sessions work a mode with `pacing =
//! "predictive"` and `amd = "hangup"`; 60 SIPp customers of three kinds,
//! by number: people who answer "hello?" and talk, lines that ring until
//! orderline gives up (15 s), and answering machines that play a recorded
//! greeting and its beep (espeak-ng and sox, built here).
//!
//! The run shows: pacing above one line per agent; every person reaching an
//! agent or the safe-harbor message within 2 s of the end of their greeting
//! (orderline's log: AMD decides at the greeting's end plus 0.8 s of
//! silence); no machine ever reaching an agent, and every machine hung up
//! on and put off; the mode's answered and abandoned counts in
//! `GET /v1/dialer/modes/{id}/stats` matching what happened, machines not
//! among the answers; nothing lost: every order confirmed or put off, once.

#[macro_use]
mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::capture::{streams_with, Capture, Packet};
use support::predictive::{a_month_of_history, logged_ms, messages_heard_after};
use support::session_rig::{answers, Rig};
use support::{free_udp_block, require, scenario, sox_g711};

const ORDERS: usize = 60;
const AGENTS: [(&str, &str, &str); 3] = [
    ("ayesha", "1001", "phone-pass-7f3a9c"),
    ("bilal", "1002", "phone-pass-41be0d"),
    ("chand", "1003", "phone-pass-9d02e7"),
];
/// A person hangs up this long after answering if no one hung up first.
const TALK_MS: u32 = 4500;

/// The mode, with `@AMD@` and `@AGENTS@` to fill in.
const PREDICTIVE_AMD: &str = r#"
[campaign.flag_above]
new = "1"

[[dialer.modes]]
id = "new"
kind = "new_leads"
pacing = "predictive"
amd = "@AMD@"
put_off = "30m"
status_after_max = "no_contact"
agents = [@AGENTS@]

[dialer.modes.safe_harbor]
seller_name = "Acme Shop"
callback_number = "+92 21 111 222 333"

[[dialer.statuses]]
name = "flagged"
mode = "new"

[[dialer.statuses]]
name = "no_contact"
"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Person,
    NeverAnswers,
    Machine,
}

/// The first six customers and every fourth after never answer; of the
/// rest, every fifth is an answering machine.
fn kind(i: usize) -> Kind {
    if i < 6 || i % 4 == 0 {
        Kind::NeverAnswers
    } else if i % 5 == 1 {
        Kind::Machine
    } else {
        Kind::Person
    }
}

fn phone(i: usize) -> String {
    number(i, kind(i))
}

fn number(i: usize, kind: Kind) -> String {
    let prefix = match kind {
        Kind::Person => "+92301",
        Kind::NeverAnswers => "+92303",
        Kind::Machine => "+92304",
    };
    format!("{prefix}{i:07}")
}

fn order(i: usize, phone: &str) -> String {
    format!(
        r#"{{"id":"AM{i:02}","phone":"{phone}","amount":"1500","currency":"PKR","customer":{{"kind":"new"}}}}"#
    )
}

/// The mode's config for `agents` and `amd`.
fn config(agents: &[(&str, &str, &str)], amd: &str) -> String {
    let ids: Vec<String> = agents.iter().map(|(id, ..)| format!("{id:?}")).collect();
    PREDICTIVE_AMD
        .replace("@AMD@", amd)
        .replace("@AGENTS@", &ids.join(", "))
}

/// Serializes the tests of this file: each runs agents, a daemon and 60
/// customers, and the 2 s budgets are measured, so they do not share the
/// machine with each other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Run a command that must succeed.
fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The customers' audio as raw µ-law for SIPp's `rtp_stream`: a person's
/// "Hello?" after 300 ms, 1.2 s of waiting, then talk (a 600 Hz tone); a
/// machine's spoken greeting, its 1 kHz beep, then silence. Each file is
/// first checked with `orderline amd classify`, so the live run tests the
/// live path, not the voice.
/// Returns the two raw files and when the machine's beep ends, in seconds
/// from the start of its stream.
fn customer_audio(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, f64) {
    require("espeak-ng");
    require("sox");
    let w = |name: &str| dir.join(name);
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "160", "-w"])
        .arg(w("hello.wav"))
        .arg("Hello?"));
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "165", "-w"])
        .arg(w("greeting.wav"))
        .arg("Hi, you have reached Sara at Acme. I can't take your call right now. Please leave a message after the tone."));
    let to8k = ["-r", "8000", "-c", "1", "-b", "16"];
    run(Command::new("sox")
        .arg(w("hello.wav"))
        .args(to8k)
        .arg(w("hello8.wav"))
        .args(["pad", "0.3", "1.2"]));
    run(Command::new("sox")
        .args(["-n"])
        .args(to8k)
        .arg(w("talk.wav"))
        .args(["synth", "8", "sine", "600", "vol", "0.2"]));
    run(Command::new("sox")
        .arg(w("hello8.wav"))
        .arg(w("talk.wav"))
        .arg(w("person.wav")));
    run(Command::new("sox")
        .arg(w("greeting.wav"))
        .args(to8k)
        .arg(w("greeting8.wav"))
        .args(["pad", "0.2", "0.3"]));
    run(Command::new("sox")
        .args(["-n"])
        .args(to8k)
        .arg(w("beep.wav"))
        .args(["synth", "0.5", "sine", "1000", "vol", "0.5"]));
    run(Command::new("sox")
        .arg(w("greeting8.wav"))
        .arg(w("beep.wav"))
        .arg(w("machine.wav"))
        .args(["pad", "0", "6"]));
    for (file, expect) in [("person.wav", "human"), ("machine.wav", "machine")] {
        let out = Command::new(env!("CARGO_BIN_EXE_orderline"))
            .args(["amd", "classify"])
            .arg(w(file))
            .output()
            .expect("orderline amd classify");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            expect,
            "{file} offline"
        );
    }
    let (person, machine) = (w("person.ul"), w("machine.ul"));
    sox_g711(&w("person.wav"), &person, "ul");
    sox_g711(&w("machine.wav"), &machine, "ul");
    let greeting = Command::new("soxi")
        .arg("-D")
        .arg(w("greeting8.wav"))
        .output()
        .expect("soxi");
    let greeting: f64 = String::from_utf8_lossy(&greeting.stdout)
        .trim()
        .parse()
        .expect("greeting length");
    (person, machine, greeting + 0.5)
}

/// SIPp behind the trunk acting by number (`customer_amd.xml`), its media
/// on `mport`, for at most `calls` calls. Writes the beep's end (seconds
/// into a machine's stream) to `beep_end` in `dir`.
fn customers(dir: &Path, port: u16, mport: u16, calls: usize) -> Child {
    require("sipp");
    let (person, machine, beep_end) = customer_audio(dir);
    std::fs::write(dir.join("beep_end"), beep_end.to_string()).expect("write");
    let human = format!("rtp_stream=\"{},1,0\"", person.display());
    let robot = format!("rtp_stream=\"{},1,0\"", machine.display());
    let sc = scenario(
        dir,
        "customer_amd.xml",
        &[
            ("@HUMAN_ACTION@", &human),
            ("@MACHINE_ACTION@", &robot),
            ("@TALK_MS@", &TALK_MS.to_string()),
            ("@MACHINE_MS@", "15000"),
        ],
    );
    let calls = calls.to_string();
    let child = Command::new("sipp")
        .arg("-sf")
        .arg(&sc)
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &mport.to_string()])
        .args(["-nostdin", "-trace_err", "-m", &calls])
        .args(["-timeout", "300s", "-timeout_error"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp");
    std::thread::sleep(Duration::from_millis(300));
    child
}

#[test]
fn machines_never_reach_an_agent_and_people_do_within_two_seconds() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mport = free_udp_block(4);
    let rig = Rig::start_agents(
        &AGENTS,
        |dir, port| customers(dir, port, mport, ORDERS * 2),
        &config(&AGENTS, "hangup"),
        |dir| a_month_of_history(dir, "new"),
    );
    // The customers' side of every call, as their socket received it.
    let capture = Capture::start(rig.dir.path());
    let phones: Vec<_> = AGENTS
        .iter()
        .map(|(id, user, pass)| rig.phone(id, user, pass))
        .collect();
    rig.wait_registered(AGENTS.len());
    for i in 0..ORDERS {
        let (st, v) = rig.api("POST", "/v1/orders", Some(&order(i, &phone(i))));
        assert_eq!(st, 201, "{v}");
    }
    let ids: Vec<&str> = AGENTS.iter().map(|(id, ..)| *id).collect();
    for id in &ids {
        rig.log_in_ready(id);
    }

    // Play the operators until every order is settled.
    let mut max_level = 0f64;
    let confirmed = rig.play_operators("new", &ids, ORDERS, Duration::from_secs(300), |rig| {
        let (_, stats) = rig.api("GET", "/v1/dialer/modes/new/stats", None);
        max_level = max_level.max(stats["dial_level"].as_f64().unwrap_or(0.0));
    });
    let logs = rig.daemon.logs();
    let heard_by_customers = customer_side(&capture.finish(), mport);

    // No machine reached an agent: no agent call to a machine's number.
    let (st, calls) = rig.api("GET", "/v1/calls", None);
    assert_eq!(st, 200, "{calls}");
    let called: HashSet<String> = calls["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter_map(|c| c["to"].as_str().map(str::to_string))
        .collect();
    let machines: Vec<String> = (0..ORDERS)
        .filter(|&i| kind(i) == Kind::Machine)
        .map(phone)
        .collect();
    assert!(
        machines.iter().all(|m| !called.contains(m)),
        "a machine reached an agent: {called:?}"
    );
    // Every machine was heard as one and hung up on, once.
    let heard_machines = logs.matches("answering machine: never an agent").count();
    assert_eq!(heard_machines, machines.len(), "{logs}");
    // Every person reached an agent or the message.
    let waited = logged_ms(&logs, "live customer connected to an agent", "waited_ms");
    let since_answer = logged_ms(
        &logs,
        "live customer connected to an agent",
        "since_answer_ms",
    );
    let heard = messages_heard_after(|| rig.daemon.logs());
    let people = (0..ORDERS).filter(|&i| kind(i) == Kind::Person).count();
    assert_eq!(waited.len(), confirmed, "every connected customer disposed");
    assert_eq!(
        waited.len() + heard.len(),
        people,
        "every person answered and was routed:\n{logs}"
    );
    assert!(
        waited.iter().all(|&ms| ms <= 2000),
        "a person within 2 s of the greeting's end: {waited:?}"
    );
    assert!(
        heard.iter().all(|&ms| ms <= 2000),
        "the message heard within 2 s of the greeting's end: {heard:?}"
    );
    assert!(
        called.iter().all(|n| n.starts_with("+92301")),
        "only people reached agents: {called:?}"
    );
    assert!(
        max_level > 1.0,
        "the pacer dialled more than one line per agent (max dial level {max_level})"
    );

    // The mode's figures: machines are not live answers.
    let answered = (waited.len() + heard.len()) as u64;
    let (_, stats) = rig.api("GET", "/v1/dialer/modes/new/stats", None);
    assert_eq!(stats["today"]["answered"], answered, "{stats}");
    assert_eq!(stats["today"]["abandoned"], heard.len() as u64, "{stats}");
    assert_eq!(stats["abandoned_30d"], 60 + heard.len() as u64, "{stats}");
    assert_eq!(stats["answered_30d"], 6_000 + answered, "{stats}");
    // The agents spent part of their logged-in time with customers.
    let occupancy = stats["occupancy"]
        .as_f64()
        .expect("occupancy once agents log in");
    assert!(occupancy > 0.0 && occupancy < 1.0, "{stats}");
    // Unanswered, abandoned and machine orders are back in their queue,
    // one attempt each, put off; none was dialled twice.
    let (_, queue) = rig.api("GET", "/v1/dialer/queue?mode=new", None);
    let rows = queue["orders"].as_array().expect("queue").clone();
    assert_eq!(rows.len(), ORDERS - confirmed, "{queue}");
    assert!(
        rows.iter()
            .all(|r| r["attempts"] == 1 && r["subqueue"] == "no_answer"),
        "{queue}"
    );
    // The same, as the customers heard it: a person hears the agent or the
    // message within 2 s of the end of their own "hello?" (read from the
    // audio they sent); a machine hears neither.
    let (person_delays, machine_heard) = heard_by_customers;
    assert_eq!(
        person_delays.len(),
        people,
        "every person's greeting found on the wire: {person_delays:?}"
    );
    assert_eq!(machine_heard.len(), machines.len(), "{machine_heard:?}");
    assert!(
        person_delays.iter().all(|d| d.is_some_and(|s| s <= 2.0)),
        "heard within 2 s of the greeting's end, at the customer: {person_delays:?}"
    );
    assert!(
        machine_heard.iter().all(Vec::is_empty),
        "a machine heard voice (agent or message) with amd = hangup: {machine_heard:?}"
    );
    let mut wire: Vec<f64> = person_delays.iter().flatten().copied().collect();
    wire.sort_by(f64::total_cmp);
    println!(
        "at the customers' socket: greeting end to a voice, median {:.0} ms, max {:.0} ms",
        1000.0 * wire[wire.len() / 2],
        1000.0 * wire[wire.len() - 1]
    );
    let mut since = since_answer.clone();
    since.sort_unstable();
    println!(
        "predictive + AMD run: {ORDERS} orders, {} machines hung up on, {answered} people \
         answered, {confirmed} connected (greeting end to agent max {} ms; answer to agent \
         median {} ms, max {} ms), {} abandoned (message heard max {} ms after the greeting), \
         max dial level {max_level:.2}, occupancy {occupancy:.2}",
        machines.len(),
        waited.iter().max().unwrap_or(&0),
        since.get(since.len() / 2).unwrap_or(&0),
        since.last().unwrap_or(&0),
        heard.len(),
        heard.iter().max().unwrap_or(&0),
    );
    for p in &phones {
        assert_eq!(answers(p), 1, "one INVITE per phone:\n{}", p.logs());
    }
}

/// A packet level above this is voice (the agents' 1 kHz tone, speech);
/// silence and orderline's comfort noise (±24) are far below.
const VOICE: f64 = 300.0;

/// From the capture, per answered customer stream: a person's delay from
/// the end of their "hello?" (the first voiced run they sent, followed by
/// a second of silence) to the first voice they received (`None`: never),
/// and for every machine (a first voiced run that is not followed by such
/// a silence) when it heard voice, in seconds from the start of its own
/// stream.
fn customer_side(packets: &[Packet], mport: u16) -> (Vec<Option<f64>>, Vec<Vec<f64>>) {
    let mut people = Vec::new();
    let mut machines = Vec::new();
    for (sent, heard) in streams_with(packets, mport).values() {
        let voiced: Vec<f64> = sent
            .iter()
            .filter(|p| p.level > VOICE)
            .map(|p| p.at)
            .collect();
        let Some(&start) = voiced.first() else {
            continue; // never answered, or no audio at all
        };
        // The first run ends at the first gap of 300 ms or more.
        let mut end = start;
        let mut next = None;
        for &t in &voiced[1..] {
            if t - end >= 0.3 {
                next = Some(t);
                break;
            }
            end = t;
        }
        // The packet carries 20 ms; the run ends when its last one does.
        let end = end + 0.02;
        let person = end - start < 1.0 && next.is_none_or(|n| n - end >= 1.0);
        if person {
            let first_heard = heard
                .iter()
                .find(|p| p.at > end && p.level > VOICE)
                .map(|p| p.at - end);
            people.push(first_heard);
        } else {
            let began = sent.first().map_or(start, |p| p.at);
            machines.push(
                heard
                    .iter()
                    .filter(|p| p.level > VOICE)
                    .map(|p| p.at - began)
                    .collect(),
            );
        }
    }
    (people, machines)
}

/// `amd = "message"`, one agent: eight customers, every other one an
/// answering machine. Each machine hears the safe-harbor message starting
/// after its beep (and nothing before it: no agent, no early message), as
/// its own socket received it; each person reaches the agent; machines
/// are no live answers and their orders are put off.
#[test]
fn machines_get_the_message_after_their_beep() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 8;
    let agents = &AGENTS[..1];
    let kinds: Vec<Kind> = (0..N)
        .map(|i| {
            if i % 2 == 0 {
                Kind::Machine
            } else {
                Kind::Person
            }
        })
        .collect();
    let mport = free_udp_block(4);
    let rig = Rig::start_agents(
        agents,
        |dir, port| customers(dir, port, mport, N * 2),
        &config(agents, "message"),
        |dir| a_month_of_history(dir, "new"),
    );
    let beep_end: f64 = std::fs::read_to_string(rig.dir.path().join("beep_end"))
        .expect("beep_end")
        .parse()
        .expect("seconds");
    let capture = Capture::start(rig.dir.path());
    let (id, user, pass) = agents[0];
    let phone = rig.phone(id, user, pass);
    rig.wait_registered(1);
    for (i, k) in kinds.iter().enumerate() {
        let (st, v) = rig.api("POST", "/v1/orders", Some(&order(i, &number(i, *k))));
        assert_eq!(st, 201, "{v}");
    }
    rig.log_in_ready(id);
    let confirmed = rig.play_operators("new", &[id], N, Duration::from_secs(180), |_| {});
    // The machines' messages end after the queue settles: give them time
    // to play out (the capture must hold them).
    std::thread::sleep(Duration::from_secs(6));
    let logs = rig.daemon.logs();
    let (people, machines) = customer_side(&capture.finish(), mport);
    let n_machines = kinds.iter().filter(|k| **k == Kind::Machine).count();
    assert_eq!(machines.len(), n_machines, "{machines:?}");
    for heard in &machines {
        let first = *heard.first().expect("the machine heard the message");
        assert!(
            first >= beep_end - 0.05 && first <= beep_end + 2.5,
            "message from {first:.2} s, the beep ends at {beep_end:.2} s: {heard:?}"
        );
    }
    assert_eq!(
        logs.matches("answering machine: never an agent").count(),
        n_machines
    );
    // People reached the agent (or the message, if the agent was busy).
    assert_eq!(people.len(), N - n_machines, "{people:?}");
    assert!(
        people.iter().all(|d| d.is_some_and(|s| s <= 2.0)),
        "{people:?}"
    );
    let (_, calls) = rig.api("GET", "/v1/calls", None);
    assert!(
        calls["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .all(|c| c["to"].as_str().is_some_and(|t| t.starts_with("+92301"))),
        "only people reached the agent: {calls}"
    );
    let (_, stats) = rig.api("GET", "/v1/dialer/modes/new/stats", None);
    let abandoned = stats["today"]["abandoned"].as_u64().unwrap_or(0) as usize;
    assert_eq!(confirmed + abandoned, N - n_machines, "{stats}");
    assert_eq!(
        stats["today"]["answered"],
        (N - n_machines) as u64,
        "{stats}"
    );
    let mut first: Vec<f64> = machines.iter().filter_map(|h| h.first().copied()).collect();
    first.sort_by(f64::total_cmp);
    println!(
        "amd = message: {n_machines} machines, message from {:.2}–{:.2} s into their stream \
         (beep ends at {beep_end:.2} s); {confirmed} people connected, {abandoned} abandoned",
        first[0],
        first[first.len() - 1]
    );
    assert_eq!(
        answers(&phone),
        1,
        "one INVITE to the phone:\n{}",
        phone.logs()
    );
}
