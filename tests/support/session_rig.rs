//! Agents' phones in nailed-up sessions with SIPp customers behind the
//! trunk (issue #10): the rig shared by the session and operator-dialer
//! tests.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::http::json;
use super::keypad::tone_audio;
use super::*;

pub const MERCHANT: &str = "merchant-token-sess-8c21f0";
/// (agent id, SIP user, password).
pub const AGENTS: [(&str, &str, &str); 2] = [
    ("ayesha", "1001", "phone-pass-7f3a9c"),
    ("bilal", "1002", "phone-pass-41be0d"),
];
/// Agent `id`'s own API token (the console signs in with it).
pub fn agent_token(id: &str) -> String {
    format!("agt-{id}-console-3b7e91")
}

/// What each customer says: a 600 Hz tone (the agents' phones send 1 kHz).
pub const CUSTOMER_HZ: f64 = 600.0;
pub const CUSTOMER_TALK_MS: u32 = 1500;

/// SIPp behind the trunk: answers `calls` calls, streams the tone, hangs up.
pub fn customers(dir: &Path, port: u16, calls: usize) -> Child {
    let calls = calls.to_string();
    talking_customers(
        dir,
        port,
        "customer_talks_hangs_up.xml",
        &["-m", &calls, "-timeout", "180s", "-timeout_error"],
    )
}

/// As [`customers`], with another scenario taking the same substitutions
/// (`@MEDIA_ACTION@`, `@TALK_MS@` = `talk_ms`), its media on `mport` (a
/// [`free_udp_block`] of 4) so that a capture can tell the customers'
/// packets apart.
pub fn customers_in(
    dir: &Path,
    port: u16,
    (mport, talk_ms): (u16, u32),
    calls: usize,
    template: &str,
) -> Child {
    let calls = calls.to_string();
    talking_customers_on(
        dir,
        port,
        (mport, talk_ms),
        template,
        &["-m", &calls, "-timeout", "180s", "-timeout_error"],
    )
}

/// SIPp behind the trunk acting by the number dialled
/// (`customer_by_number.xml`): `+92302…` busy, `+92303…` ring and never
/// answer, every other number answers, talks and hangs up. Runs until
/// killed (no call count).
pub fn customers_by_number(dir: &Path, port: u16) -> Child {
    talking_customers(dir, port, "customer_by_number.xml", &[])
}

/// SIPp playing `scenario`, whose answered calls stream the customer's
/// tone for [`CUSTOMER_TALK_MS`] and hang up; `args` are SIPp's own.
fn talking_customers(dir: &Path, port: u16, scenario_file: &str, args: &[&str]) -> Child {
    talking_customers_on(
        dir,
        port,
        (free_udp_block(4), CUSTOMER_TALK_MS),
        scenario_file,
        args,
    )
}

/// As [`talking_customers`], the media on `mport`, talking `talk_ms`.
fn talking_customers_on(
    dir: &Path,
    port: u16,
    (mport, talk_ms): (u16, u32),
    scenario_file: &str,
    args: &[&str],
) -> Child {
    require("sipp");
    let wav = dir.join("customer.wav");
    write_wav(&wav, &tone_audio(1.4, CUSTOMER_HZ, 6000.0));
    let ul = dir.join("customer.ul");
    sox_g711(&wav, &ul, "ul");
    let action = format!("rtp_stream=\"{},1,0\"", ul.display());
    let sc = scenario(
        dir,
        scenario_file,
        &[
            ("@MEDIA_ACTION@", &action),
            ("@TALK_MS@", &talk_ms.to_string()),
        ],
    );
    let child = Command::new("sipp")
        .arg("-sf")
        .arg(&sc)
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &mport.to_string()])
        .args(["-nostdin", "-trace_err"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp");
    std::thread::sleep(Duration::from_millis(300));
    child
}

/// SIPp behind the trunk answering every call 486 Busy Here.
pub fn busy_customers(dir: &Path, port: u16) -> Child {
    require("sipp");
    let sc = scenario(dir, "uas_busy.xml", &[]);
    let child = Command::new("sipp")
        .arg("-sf")
        .arg(&sc)
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-nostdin", "-trace_err"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp");
    std::thread::sleep(Duration::from_millis(300));
    child
}

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub daemon: Daemon,
    pub http: SocketAddr,
    pub sipp: Child,
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.sipp.kill();
        let _ = self.sipp.wait();
        if std::thread::panicking() {
            // SIPp's own account of a failed customer call.
            for e in std::fs::read_dir(self.dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if e.file_name().to_string_lossy().ends_with("_errors.log") {
                    eprintln!(
                        "--- {} ---\n{}",
                        e.path().display(),
                        std::fs::read_to_string(e.path()).unwrap_or_default()
                    );
                }
            }
        }
    }
}

impl Rig {
    /// The daemon with the [`AGENTS`] (registering phones) and `extra`
    /// config after them; SIPp behind the trunk answering `calls` customers.
    pub fn start(calls: usize, extra: &str) -> Rig {
        Rig::start_with(|dir, port| customers(dir, port, calls), extra)
    }

    /// As [`Rig::start`], with the trunk's SIPp started by `trunk_peer`
    /// (its working directory and port).
    pub fn start_with(trunk_peer: impl FnOnce(&Path, u16) -> Child, extra: &str) -> Rig {
        Rig::start_prepared(trunk_peer, extra, |_| {})
    }

    /// As [`Rig::start_with`], running `prepare` on the daemon's directory
    /// before the daemon starts (its SQLite store is `orderline.db` there).
    pub fn start_prepared(
        trunk_peer: impl FnOnce(&Path, u16) -> Child,
        extra: &str,
        prepare: impl FnOnce(&Path),
    ) -> Rig {
        Rig::start_agents(&AGENTS, trunk_peer, extra, prepare)
    }

    /// As [`Rig::start_prepared`] with `agents` (id, SIP user, password)
    /// instead of [`AGENTS`].
    pub fn start_agents(
        agents: &[(&str, &str, &str)],
        trunk_peer: impl FnOnce(&Path, u16) -> Child,
        extra: &str,
        prepare: impl FnOnce(&Path),
    ) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let trunk = free_udp_port();
        let sipp = trunk_peer(dir.path(), trunk);
        let http: SocketAddr = ([127, 0, 0, 1], free_tcp_port()).into();
        let mut tail = format!("[http]\nlisten = \"{http}\"\napi_tokens = [\"{MERCHANT}\"]\n\n");
        for (id, user, pass) in agents {
            tail.push_str(&format!(
                "[[agents]]\nid = \"{id}\"\nname = \"Agent {id}\"\nsip_user = \"{user}\"\nsip_password = \"{pass}\"\napi_token = \"{}\"\n\n",
                agent_token(id)
            ));
        }
        tail.push_str(extra);
        let daemon = Daemon::start_with(dir.path(), trunk, &tail, prepare);
        Rig {
            dir,
            daemon,
            http,
            sipp,
        }
    }

    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
        json(self.http, method, path, MERCHANT, body)
    }

    /// A registering phone that "speaks" a 1 kHz tone for the whole run.
    pub fn phone(&self, name: &str, user: &str, pass: &str) -> Baresip {
        let src = self.dir.path().join(format!("{name}-says.wav"));
        write_wav(&src, &tone_audio(150.0, 1000.0, 2300.0));
        Baresip::registering(
            self.dir.path(),
            name,
            user,
            pass,
            self.daemon.port,
            60,
            &src,
            240,
        )
    }

    /// Wait until `n` agents have a live registration.
    pub fn wait_registered(&self, n: usize) {
        self.wait(
            "the phones register",
            "/v1/agents",
            Duration::from_secs(15),
            |st, v| {
                st == 200
                    && v["agents"].as_array().is_some_and(|a| {
                        a.iter()
                            .filter(|x| {
                                x["registrations"].as_array().is_some_and(|r| !r.is_empty())
                            })
                            .count()
                            == n
                    })
            },
        );
    }

    /// Log agent `id` in (its session: one call to its phone, kept up),
    /// wait until the session is up (`paused`), and make it `ready`.
    pub fn log_in_ready(&self, id: &str) {
        let (st, v) = self.api("POST", &format!("/v1/agents/{id}/session"), None);
        assert_eq!(st, 201, "{v}\n{}", self.daemon.logs());
        self.wait(
            "logged in",
            &format!("/v1/agents/{id}"),
            Duration::from_secs(10),
            |st, v| st == 200 && v["state"] == "paused",
        );
        let (st, v) = self.api(
            "PUT",
            &format!("/v1/agents/{id}/state"),
            Some(r#"{"state":"ready"}"#),
        );
        assert_eq!(st, 200, "{v}");
    }

    /// Play the operators once: every agent of `ids` in wrap-up disposes
    /// its call as `confirmed`. Returns how many did.
    pub fn confirm_wrap_ups(&self, ids: &[&str]) -> usize {
        let mut n = 0;
        for id in ids {
            let (_, v) = self.api("GET", &format!("/v1/agents/{id}"), None);
            if v["state"] != "wrap_up" {
                continue;
            }
            let call = v["call_id"].as_str().expect("wrap-up call").to_string();
            let (st, d) = self.api(
                "POST",
                &format!("/v1/calls/{call}/disposition"),
                Some(r#"{"disposition":"confirmed"}"#),
            );
            assert_eq!(st, 200, "{d}");
            n += 1;
        }
        n
    }

    /// Whether mode `mode` has settled all `total` orders: `confirmed` of
    /// them by agents and the rest put off, none in flight or unprocessed.
    /// Returns the mode's view with the answer.
    pub fn mode_settled(
        &self,
        mode: &str,
        confirmed: usize,
        total: usize,
    ) -> (bool, serde_json::Value) {
        let (_, v) = self.api("GET", &format!("/v1/dialer/modes/{mode}"), None);
        let c = &v["counts"];
        let put_off = c["no_answer"].as_u64().unwrap_or(0) as usize;
        let busy = c["in_flight"].as_u64().unwrap_or(0) + c["unprocessed"].as_u64().unwrap_or(0);
        (confirmed + put_off == total && busy == 0, v)
    }

    /// Play the operators `ids` of mode `mode` until its `total` orders are
    /// settled (confirmed by them or put off), calling `each` on every
    /// look; panics with the daemon log after `limit`. Returns how many
    /// calls the operators confirmed.
    pub fn play_operators(
        &self,
        mode: &str,
        ids: &[&str],
        total: usize,
        limit: Duration,
        mut each: impl FnMut(&Rig),
    ) -> usize {
        let mut confirmed = 0;
        let t0 = Instant::now();
        loop {
            each(self);
            let (done, view) = self.mode_settled(mode, confirmed, total);
            if done {
                return confirmed;
            }
            assert!(
                t0.elapsed() < limit,
                "not settled: {confirmed} confirmed, {view}\n{}",
                self.daemon.logs()
            );
            confirmed += self.confirm_wrap_ups(ids);
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Poll `path` until `ok` holds; panics with the daemon log at `limit`.
    pub fn wait(
        &self,
        what: &str,
        path: &str,
        limit: Duration,
        ok: impl Fn(u16, &serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let t0 = Instant::now();
        loop {
            let (st, v) = self.api("GET", path, None);
            if ok(st, &v) {
                return v;
            }
            assert!(
                t0.elapsed() < limit,
                "{what}: last {st} {v}\n--- daemon ---\n{}",
                self.daemon.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// How many calls the phone answered (one per session, ever).
pub fn answers(phone: &Baresip) -> usize {
    phone.logs().matches("call: answering call").count()
}

/// The admin table (`GET /v1/dialer/overview`) against the orders
/// themselves: per mode, the orders waiting in each sub-queue plus those in
/// flight are exactly the orders whose `dialer` names the mode (an order
/// being dialled keeps its sub-queue on the order and is counted
/// `in_flight`), and no sub-queue counts more orders than show it. The
/// overview is read before and after the orders; a move in between (the
/// dialer does not stop for the check) is retried, not misreported.
/// Returns the overview.
pub fn counts_match_the_orders(rig: &Rig, ids: &[&str]) -> serde_json::Value {
    use std::collections::BTreeMap;
    const SUBS: [&str; 3] = ["unprocessed", "no_answer", "callback"];
    let overview = || {
        let (st, o) = rig.api("GET", "/v1/dialer/overview", None);
        assert_eq!(st, 200, "{o}");
        o
    };
    for _ in 0..50 {
        let before = overview();
        // (mode, subqueue) → orders showing it.
        let mut shown: BTreeMap<(String, String), u64> = BTreeMap::new();
        for id in ids {
            let (st, v) = rig.api("GET", &format!("/v1/orders/{id}"), None);
            assert_eq!(st, 200, "{v}");
            if let (Some(m), Some(s)) = (
                v["dialer"]["mode"].as_str(),
                v["dialer"]["subqueue"].as_str(),
            ) {
                *shown.entry((m.to_string(), s.to_string())).or_default() += 1;
            }
        }
        if overview() != before {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        for mode in before["modes"].as_array().expect("modes") {
            let id = mode["id"].as_str().expect("mode id");
            let counts = &mode["counts"];
            let n = |sub: &str| shown.get(&(id.to_string(), sub.to_string())).copied();
            let mut waiting = 0;
            for sub in SUBS {
                let c = counts[sub].as_u64().expect("count");
                assert!(
                    c <= n(sub).unwrap_or(0),
                    "mode {id} counts {c} {sub} but {:?} orders show it: {before}",
                    n(sub)
                );
                waiting += c;
            }
            let total: u64 = SUBS.iter().filter_map(|s| n(s)).sum();
            assert_eq!(
                waiting + counts["in_flight"].as_u64().expect("in_flight"),
                total,
                "mode {id}: every order in it counted once: {before} vs {shown:?}"
            );
        }
        return before;
    }
    panic!("the dial-up never held still for the count check");
}
