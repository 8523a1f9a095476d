//! Kamailio's `dispatcher` in front of two `orderline serve` nodes on one
//! PostgreSQL (issue #16, "More than one machine"), with the configuration
//! the README quotes (`tests/peers/kamailio_dispatcher.cfg`): customers'
//! calls reach Kamailio only, which spreads them round-robin over the nodes
//! it finds answering its OPTIONS probes. Both nodes answer calls; after a
//! `kill -9` of one node every call still succeeds — those routed to the
//! dead node while Kamailio still thought it alive are retried on the
//! survivor after 1 s of silence, which marks the node down — and from
//! then on no call is offered to it (Kamailio's 1 s OPTIONS probes keep it
//! down while it is dead).

#[macro_use]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::kamailio::Kamailio;
use support::*;

/// Calls per phase.
const CALLS: usize = 12;
/// What a node logs when it takes a call (the caller has no open order).
const TAKEN: &str = "inbound call matches no open order";

fn node(root: &Path, name: &str, db: &str) -> Daemon {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("node dir");
    let tail = format!(
        "[http]\nlisten = \"127.0.0.1:{}\"\napi_tokens = [\"dispatch-token-7c2a\"]\n\n\
         [database]\nurl = \"{db}\"\n\n\
         [cluster]\nnode = \"{name}\"\nlease = \"5s\"\n",
        free_tcp_port()
    );
    Daemon::start_trunk(&dir, free_udp_port(), "", &tail, |_| {})
}

/// `calls` customers calling Kamailio, 10 a second; true when every call
/// was answered and ended by orderline's BYE.
fn call_in(dir: &Path, kamailio: &Kamailio, calls: usize) -> (bool, String) {
    std::fs::create_dir_all(dir).expect("caller dir");
    let calls = calls.to_string();
    let target = format!("127.0.0.1:{}", kamailio.udp_port);
    Sipp::start(
        &Path::new(SCENARIOS).join("uac_via_proxy.xml"),
        dir,
        &[&target, "-m", &calls, "-r", "10", "-l", &calls],
    )
    .finish(Duration::from_secs(60))
}

fn all_logs(kamailio: &Kamailio, a: &Daemon, b: &Daemon) -> String {
    format!(
        "Kamailio:\n{}\nnode a:\n{}\nnode b:\n{}",
        kamailio.logs(),
        a.logs(),
        b.logs()
    )
}

/// Kamailio's `ROUTE INVITE` lines naming node `port`.
fn routed_to(kamailio: &Kamailio, port: u16) -> usize {
    let to = format!("to=sip:127.0.0.1:{port}");
    kamailio
        .lines_with("ROUTE INVITE")
        .iter()
        .filter(|l| l.ends_with(&to))
        .count()
}

#[test]
fn kamailio_spreads_calls_over_two_nodes_and_a_killed_node_loses_no_call() {
    let t0 = Instant::now();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = rt.block_on(support::store::postgres_db());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = node(dir.path(), "a", &db.url);
    let b = node(dir.path(), "b", &db.url);
    let kamailio = Kamailio::dispatcher(dir.path(), &[a.port, b.port]);
    // Both nodes up: the calls are shared, each node answers its own.
    let (ok, errors) = call_in(&dir.path().join("calls1"), &kamailio, CALLS);
    assert!(
        ok,
        "a call failed with both nodes up: {errors}\n{}",
        all_logs(&kamailio, &a, &b)
    );
    let (on_a, on_b) = (
        a.logs().matches(TAKEN).count(),
        b.logs().matches(TAKEN).count(),
    );
    assert_eq!(on_a + on_b, CALLS, "{}", all_logs(&kamailio, &a, &b));
    assert!(
        on_a >= CALLS / 3 && on_b >= CALLS / 3,
        "round-robin: a took {on_a}, b took {on_b}"
    );
    assert_eq!(
        routed_to(&kamailio, a.port),
        on_a,
        "{}",
        all_logs(&kamailio, &a, &b)
    );

    // Node a dies. Calls go on at once: one Kamailio still sends to a is
    // retried on b after 1 s of silence, and marks a down.
    a.kill9();
    let (ok, errors) = call_in(&dir.path().join("calls2"), &kamailio, CALLS);
    assert!(
        ok,
        "a call failed after node a died: {errors}\n{}",
        all_logs(&kamailio, &a, &b)
    );
    assert_eq!(
        b.logs().matches(TAKEN).count(),
        on_b + CALLS,
        "node b took every call after the kill\n{}",
        all_logs(&kamailio, &a, &b)
    );
    let retried = kamailio.lines_with("RETRY INVITE");
    assert!(
        !retried.is_empty()
            && !kamailio
                .lines_with(&format!("NODE FAILED sip:127.0.0.1:{}", a.port))
                .is_empty(),
        "no call was retried away from the dead node\n{}",
        all_logs(&kamailio, &a, &b)
    );

    // Marked down: no call is offered to node a any more.
    let before = routed_to(&kamailio, a.port);
    let (ok, errors) = call_in(&dir.path().join("calls3"), &kamailio, CALLS);
    assert!(
        ok,
        "a call failed with node a down: {errors}\n{}",
        all_logs(&kamailio, &a, &b)
    );
    assert_eq!(
        routed_to(&kamailio, a.port),
        before,
        "{}",
        all_logs(&kamailio, &a, &b)
    );
    assert_eq!(
        b.logs().matches(TAKEN).count(),
        on_b + 2 * CALLS,
        "{}",
        all_logs(&kamailio, &a, &b)
    );
    eprintln!(
        "dispatcher: {on_a}/{on_b} calls on a/b with both up; after kill -9 of a, \
         {CALLS} + {CALLS} calls all on b ({} retried from a); {:.1} s",
        retried.len(),
        t0.elapsed().as_secs_f64()
    );
}
