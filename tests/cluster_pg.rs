//! Two `orderline serve` nodes on one PostgreSQL share a robo-call campaign
//! (issue #16, "More than one machine"): both claim attempts, each within
//! its share of the trunk, every phone gets exactly one INVITE (counted in
//! SIPp's own message trace), and a `kill -9` of one node loses nothing: once
//! its leases run out the survivor closes its live calls as interrupted,
//! re-schedules them per the rules and finishes the campaign; every webhook
//! event reaches the merchant exactly once (the only exceptions allowed are
//! the events the dead node was sending at the kill, which come again
//! once — at-least-once delivery, de-duplicated on the id).

#[macro_use]
mod support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::Row;
use support::http::{json, WebhookSink};
use support::*;

const TOKEN: &str = "cluster-token-5d1e";
const ORDERS: usize = 200;
/// Short, so the test sees a dead node's calls taken over within seconds.
const LEASE_SECS: i64 = 5;

/// One SIPp callee for the whole cluster, keying 1, tracing every message.
fn traced_callee(dir: &Path) -> Sipp {
    streaming_callee(
        dir,
        "callee_inband.xml",
        &[(0.4, '1', 0.12)],
        4.0,
        free_udp_port(),
        &["-m", "10000", "-l", "400", "-timeout", "600s", "-trace_msg"],
    )
}

/// Distinct INVITE dialogs (Call-IDs) per called number in SIPp's trace.
fn invites_per_number(dir: &Path) -> HashMap<String, HashSet<String>> {
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    for e in std::fs::read_dir(dir).expect("sipp dir").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.ends_with("_messages.log") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).expect("sipp trace");
        let mut number: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("INVITE sip:") {
                number = rest.split('@').next().map(str::to_string);
            } else if line.starts_with("SIP/2.0")
                || line.starts_with("ACK ")
                || line.starts_with("BYE ")
            {
                number = None;
            } else if let (Some(n), Some(id)) = (&number, line.strip_prefix("Call-ID:")) {
                out.entry(n.clone())
                    .or_default()
                    .insert(id.trim().to_string());
                number = None;
            }
        }
    }
    out
}

struct Node {
    daemon: Daemon,
    http: SocketAddr,
}

fn start_node(root: &Path, name: &str, sipp_port: u16, db: &str, sink: &WebhookSink) -> Node {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("node dir");
    let http = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
    let tail = format!(
        "[http]\nlisten = \"{http}\"\napi_tokens = [\"{TOKEN}\"]\n\n\
         [webhooks]\nurl = \"{}\"\nsecret = \"cluster-secret\"\n\n\
         [database]\nurl = \"{db}\"\n\n\
         [cluster]\nnode = \"{name}\"\nlease = \"{LEASE_SECS}s\"\n",
        sink.url()
    );
    let daemon = Daemon::start_trunk(&dir, sipp_port, "max_channels = 40", &tail, |_| {});
    Node { daemon, http }
}

fn post_order(node: &Node, i: usize) {
    let body = format!(
        r#"{{"id":"cl-{i:03}","phone":"0300{i:07}","amount":"1200","currency":"PKR",
            "customer":{{"kind":"new"}},"items":[{{"sku":"A1","qty":1}}],"locale":"en"}}"#
    );
    let (st, v) = json(node.http, "POST", "/v1/orders", TOKEN, Some(&body));
    assert_eq!(st, 201, "create cl-{i:03}: {v}\n{}", node.daemon.logs());
}

/// Rows of one query as strings (NULL as "").
async fn rows(db: &support::store::TestDb, sql: &str) -> Vec<Vec<String>> {
    let mut conn = db.raw().await;
    sqlx::query(sql)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<Option<String>, _>(i)
                        .map(Option::unwrap_or_default)
                        .or_else(|_| {
                            r.try_get::<Option<i64>, _>(i)
                                .map(|v| v.map_or(String::new(), |v| v.to_string()))
                        })
                        .unwrap_or_else(|e| panic!("{sql} column {i}: {e}"))
                })
                .collect()
        })
        .collect()
}

fn count(rt: &tokio::runtime::Runtime, db: &support::store::TestDb, sql: &str) -> i64 {
    rt.block_on(rows(db, sql))[0][0].parse().expect("a count")
}

/// Poll until `sql` (a count) reads 0; fail after `limit` naming `what`.
fn wait_zero(
    rt: &tokio::runtime::Runtime,
    db: &support::store::TestDb,
    sql: &str,
    limit: Duration,
    what: &str,
    logs: impl Fn() -> String,
) {
    let t0 = Instant::now();
    loop {
        let left = count(rt, db, sql);
        if left == 0 {
            return;
        }
        assert!(t0.elapsed() < limit, "{left} {what}\n{}", logs());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Two nodes on a fresh database, one traced SIPp callee, one merchant
/// endpoint, and `orders` orders posted to the nodes in turn.
struct Cluster {
    rt: tokio::runtime::Runtime,
    db: support::store::TestDb,
    dir: tempfile::TempDir,
    sipp: Sipp,
    sink: WebhookSink,
    a: Node,
    b: Node,
}

fn two_nodes(orders: usize) -> Cluster {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = rt.block_on(support::store::postgres_db());
    let dir = tempfile::tempdir().expect("tempdir");
    let sipp = traced_callee(dir.path());
    let sink = WebhookSink::start();
    let a = start_node(dir.path(), "a", sipp.port, &db.url, &sink);
    let b = start_node(dir.path(), "b", sipp.port, &db.url, &sink);
    for i in 0..orders {
        post_order(if i % 2 == 0 { &a } else { &b }, i);
    }
    Cluster {
        rt,
        db,
        dir,
        sipp,
        sink,
        a,
        b,
    }
}

/// Attempts not finished: live, or a first call still due.
const OPEN: &str =
    "SELECT COUNT(*) FROM call_attempts WHERE state = 'live' OR (state = 'due' AND attempt_no = 1)";

#[test]
fn two_nodes_share_a_campaign_and_a_kill9_loses_nothing() {
    let started = Instant::now();
    let Cluster {
        rt,
        db,
        dir,
        sipp,
        sink,
        a,
        mut b,
    } = two_nodes(ORDERS);

    // Mid-campaign: some confirmed, node b on calls; then kill -9 b.
    let t0 = Instant::now();
    loop {
        let done = count(
            &rt,
            &db,
            "SELECT COUNT(*) FROM orders WHERE status = 'confirmed'",
        );
        let b_live = count(
            &rt,
            &db,
            "SELECT COUNT(*) FROM call_attempts WHERE state = 'live' AND node = 'b'",
        );
        if done >= 50 && b_live > 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "campaign did not get going: {done} confirmed, b live {b_live}\n{}",
            b.daemon.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    b.daemon.kill9();
    let killed_at =
        chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()).timestamp_millis();
    // What b held at its death: its live calls (and their lease ends) and
    // the webhook events it was sending.
    let b_live: HashMap<String, i64> = rt
        .block_on(rows(
            &db,
            "SELECT id, lease_until FROM call_attempts WHERE state = 'live' AND node = 'b'",
        ))
        .into_iter()
        .map(|r| {
            (
                r[0].clone(),
                r[1].parse().expect("b's live rows carry a lease"),
            )
        })
        .collect();
    let b_sending: HashSet<String> = rt
        .block_on(rows(
            &db,
            "SELECT id FROM webhook_outbox WHERE node = 'b' AND delivered_at IS NULL",
        ))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(!b_live.is_empty(), "the kill hit no live call of b");
    let a_live = count(
        &rt,
        &db,
        "SELECT COUNT(*) FROM call_attempts WHERE state = 'live' AND node = 'a'",
    );
    // A third node starting now closes only its own live rows (none): not
    // a's calls in progress, nor b's while b's leases still run.
    let c = start_node(dir.path(), "c", sipp.port, &db.url, &sink);

    // The survivor finishes: nothing live, no first attempt left due.
    wait_zero(
        &rt,
        &db,
        OPEN,
        Duration::from_secs(60),
        "attempts still open after the kill",
        || a.daemon.logs(),
    );

    // Both nodes took part.
    let per_node: HashMap<String, i64> = rt
        .block_on(rows(
            &db,
            "SELECT COALESCE(node, ''), COUNT(*) FROM call_attempts WHERE attempt_no = 1 GROUP BY node",
        ))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().expect("count")))
        .collect();
    assert!(
        per_node.get("a").copied().unwrap_or(0) > 0 && per_node.get("b").copied().unwrap_or(0) > 0,
        "both first nodes should have called: {per_node:?}"
    );

    // b's live calls: closed as interrupted, only once their lease had run
    // out, by a (b never came back); a's calls were never interrupted.
    let closed = rt.block_on(rows(
        &db,
        "SELECT id, node, outcome, COALESCE(error, ''), finished_at FROM call_attempts \
         WHERE error LIKE 'interrupted%'",
    ));
    let closed_ids: HashSet<String> = closed.iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        closed_ids,
        b_live.keys().cloned().collect::<HashSet<_>>(),
        "exactly b's live calls are interrupted (a had {a_live} live when c started)"
    );
    for r in &closed {
        assert_eq!(r[1], "b", "{r:?}");
        assert_eq!(
            r[2], "failed",
            "an interrupted call counts as failed: {r:?}"
        );
        let finished: i64 = r[4].parse().expect("finished_at");
        assert!(
            finished >= b_live[&r[0]],
            "closed before its lease ran out: {r:?}, lease until {}",
            b_live[&r[0]]
        );
    }
    let took_over = "closed live calls of a node whose lease ran out";
    assert!(
        a.daemon.logs().contains(took_over) || c.daemon.logs().contains(took_over),
        "no survivor reported taking over b's calls"
    );
    assert!(
        c.daemon
            .logs()
            .contains("reconciled interrupted attempts reconciled=Reconciled { interrupted: [], "),
        "c's start closed live calls that were not its own:\n{}",
        c.daemon.logs()
    );

    // 0 lost: every order confirmed, or interrupted with its re-attempt due
    // per the rules (3 h later); at most one completed call per order.
    let orders = rt.block_on(rows(
        &db,
        "SELECT o.id, o.status, \
           (SELECT COUNT(*) FROM call_attempts c WHERE c.order_id = o.id AND c.outcome = 'confirmed'), \
           (SELECT MIN(c.scheduled_at) FROM call_attempts c WHERE c.order_id = o.id AND c.state = 'due') \
         FROM orders o",
    ));
    assert_eq!(orders.len(), ORDERS);
    let mut confirmed = 0;
    for r in &orders {
        if r[1] == "confirmed" {
            assert_eq!(r[2], "1", "{r:?}");
            confirmed += 1;
        } else {
            let due: i64 = r[3].parse().unwrap_or_else(|_| panic!("lost: {r:?}"));
            assert!(
                due > killed_at + 170 * 60 * 1000,
                "re-attempt due too soon (dialled twice?): {r:?}"
            );
        }
    }
    assert_eq!(
        confirmed + b_live.len(),
        ORDERS,
        "orders neither confirmed nor interrupted"
    );

    // At the callee: every confirmed order's phone got exactly one INVITE
    // (one dialog), an interrupted one at most one (b may have died between
    // the claim and its INVITE), and no other number was called.
    let invites = invites_per_number(dir.path());
    let mut never_rang = 0;
    for r in &orders {
        let i: usize = r[0]
            .trim_start_matches("cl-")
            .parse()
            .expect("order number");
        let number = format!("0300{i:07}");
        let n = invites.get(&number).map_or(0, HashSet::len);
        if r[1] == "confirmed" {
            assert_eq!(n, 1, "{number} (confirmed) got {n} INVITEs");
        } else {
            assert!(n <= 1, "{number} (interrupted) got {n} INVITEs");
            never_rang += usize::from(n == 0);
        }
    }
    assert!(
        invites.len() <= ORDERS && invites.keys().all(|n| n.starts_with("0300")),
        "INVITEs to numbers not in the campaign: {:?}",
        invites.keys().collect::<Vec<_>>()
    );

    // Webhooks: every event in the outbox delivered, each exactly once at
    // the receiver (b's in-flight ones at most twice, same id and body).
    wait_zero(
        &rt,
        &db,
        "SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NULL",
        Duration::from_secs(40),
        "webhook events undelivered",
        || a.daemon.logs(),
    );
    let events: HashSet<String> = rt
        .block_on(rows(&db, "SELECT id FROM webhook_outbox"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let mut received: HashMap<String, Vec<String>> = HashMap::new();
    for h in sink.received() {
        let id = h.header("webhook-id").expect("webhook-id").to_string();
        received.entry(id).or_default().push(h.body.clone());
    }
    assert_eq!(
        received.keys().cloned().collect::<HashSet<_>>(),
        events,
        "the receiver's event ids differ from the outbox's"
    );
    let mut twice = 0;
    for (id, bodies) in &received {
        if bodies.len() > 1 {
            assert!(
                b_sending.contains(id) && bodies.len() == 2,
                "event {id} delivered {} times",
                bodies.len()
            );
            assert_eq!(bodies[0], bodies[1], "a redelivery changed the body");
            twice += 1;
        }
    }

    // The trunk's 40 channels were shared by the live nodes: a took half
    // with b, a third once c joined, half again once b's heartbeat was
    // older than a lease (a heartbeat tick or two after that).
    let regrown = "trunk share for this node nodes=2 max_channels=Some(20)";
    let t0 = Instant::now();
    let logs = loop {
        let logs = a.daemon.logs();
        let three = logs.find("trunk share for this node nodes=3 max_channels=Some(13)");
        if three.is_some_and(|at| logs[at..].contains(regrown)) {
            break logs;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3 * LEASE_SECS as u64),
            "a never paced at 13 channels with 3 nodes, then at 20 after b died:\n{logs}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        logs.find(regrown) < logs.find("nodes=3"),
        "a did not pace at half the trunk while a and b were alone"
    );
    eprintln!(
        "cluster: {ORDERS} orders, attempts per node {per_node:?}, {confirmed} confirmed, \
         {} interrupted on b ({never_rang} before their INVITE), {} webhook events ({twice} sent twice, in flight on b at the kill), {:.1} s",
        b_live.len(),
        events.len(),
        started.elapsed().as_secs_f64()
    );
    drop(sipp);
}

#[test]
fn cluster_on_sqlite_is_a_config_error_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config_with(
        dir.path(),
        free_udp_port(),
        free_udp_port(),
        "",
        "[cluster]\nnode = \"a\"\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderline"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .expect("run orderline");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "serve started with [cluster] on SQLite"
    );
    assert!(
        err.contains("config key `cluster`") && err.contains("PostgreSQL"),
        "{err}"
    );
}

/// A node that was paused past its lease (SIGSTOP: as a hung process or a
/// lost database would look) finds on waking that another node may have
/// taken its calls over: it stops itself (BYE, exit with an error) instead
/// of working them on, and its results are not recorded over the survivor's.
#[test]
fn a_node_paused_past_its_lease_stops_itself() {
    let Cluster {
        rt,
        db,
        dir,
        sipp: _sipp,
        sink: _sink,
        a,
        mut b,
    } = two_nodes(80);
    let b_live_sql = "SELECT COUNT(*) FROM call_attempts WHERE state = 'live' AND node = 'b'";
    let t0 = Instant::now();
    while count(&rt, &db, b_live_sql) == 0 {
        assert!(t0.elapsed() < Duration::from_secs(30), "b never called");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = b.daemon.child.id().to_string();
    let signal = |sig: &str| {
        let st = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .expect("kill");
        assert!(st.success(), "kill {sig} {pid}");
    };
    signal("-STOP");
    // a takes b's calls over once their leases ran out.
    wait_zero(
        &rt,
        &db,
        b_live_sql,
        Duration::from_secs(3 * LEASE_SECS as u64),
        "calls of b not taken over",
        || a.daemon.logs(),
    );
    signal("-CONT");
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = b.daemon.child.try_wait().expect("poll b") {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "b went on after waking past its lease\n{}",
            b.daemon.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        !status.success(),
        "b exited cleanly after losing its leases"
    );
    let logs = b.daemon.logs();
    assert!(
        logs.contains("cluster leases not renewed in time"),
        "b did not say why it stopped:\n{logs}"
    );
    // The calls a closed stay closed as interrupted: b's late results did
    // not overwrite them, and none of those numbers was called again.
    wait_zero(
        &rt,
        &db,
        OPEN,
        Duration::from_secs(60),
        "attempts a did not finish",
        || a.daemon.logs(),
    );
    let interrupted = count(
        &rt,
        &db,
        "SELECT COUNT(*) FROM call_attempts WHERE error LIKE 'interrupted%' AND outcome = 'failed' AND node = 'b'",
    );
    assert!(interrupted > 0, "no call of b was closed as interrupted");
    let recorded_late = count(
        &rt,
        &db,
        "SELECT COUNT(*) FROM call_attempts c WHERE c.outcome = 'confirmed' AND EXISTS \
         (SELECT 1 FROM call_attempts i WHERE i.order_id = c.order_id AND i.error LIKE 'interrupted%')",
    );
    assert_eq!(
        recorded_late, 0,
        "a call taken over was recorded as confirmed too"
    );
    let invites = invites_per_number(dir.path());
    assert!(
        invites.values().all(|ids| ids.len() == 1),
        "a number was called twice: {:?}",
        invites
            .iter()
            .filter(|(_, ids)| ids.len() > 1)
            .collect::<Vec<_>>()
    );
    assert!(
        logs.contains("attempt was closed by another node"),
        "b never tried to record a call a had closed (was the pause too short?)\n{logs}"
    );
}
