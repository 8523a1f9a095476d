//! One click-to-call desk for the payment end-to-end tests: `orderline serve`
//! (SQLite file, trace logs) with one agent whose phone is a baresip, the
//! customer behind the trunk, a merchant's webhook sink, and a record of every
//! API and SSE response the test received (for the card-data search).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::Mac;
use serde_json::{json, Value};

use super::agent_phone::{received_dtmf_lines, AGENT_ID, AGENT_NAME};
use super::audio_check::{assert_no_dtmf, longest_run, read_8k, tone_frames, NoDtmfReport};
use super::card_data::{assert_no_card_data, keyed_digit_lines, strip_ansi, Secrets};
use super::http::{request, sse, Hook, SseEvent, WebhookSink};
use super::keypad::MARKER_HZ;
use super::{Baresip, Daemon};

pub const MERCHANT_TOKEN: &str = "merchant-token-5d1e7a";
pub const AGENT_TOKEN: &str = "agent-token-ayesha-0123456789";
pub const WEBHOOK_SECRET: &str = "webhook-secret-3c9a44";
/// The customer's number (digits only: it is also the user part baresip answers to).
pub const CUSTOMER: &str = "923001234567";
pub const ITEM: &str = "Blue kurta";
pub const AMOUNT: &str = "2500.00";
pub const CURRENCY: &str = "PKR";
/// The hold tone the agent hears during a payment.
pub const HOLD_HZ: f64 = 425.0;

pub const STEPS: [&str; 5] = ["amount", "card_number", "expiry", "cvc", "postal_code"];

/// How the rig's agent is reached when not at its phone's plain UDP URI.
#[derive(Debug, Default)]
pub struct AgentLine {
    /// The agent's `sip_uri` (default: the phone's [`Baresip::uri`]).
    pub uri: Option<String>,
    /// More keys of the agent's `[[agents]]` entry (`srtp = "required"`).
    pub keys: String,
    /// More sections after the agent's (`[sip.tls]`, more `[[agents]]`).
    pub tail: String,
}

pub struct Rig {
    /// The test's files (config, database, logs, phones' recordings). Kept
    /// after the test when `ORDERLINE_E2E_KEEP` is set (path printed).
    pub dir: PathBuf,
    _guard: Option<tempfile::TempDir>,
    pub sink: WebhookSink,
    pub http: SocketAddr,
    pub daemon: Daemon,
    pub agent: Baresip,
    /// Every API/SSE response body received: (what, bytes).
    pub seen: Vec<(String, Vec<u8>)>,
    /// The `[database]` URL when the daemon does not use the rig's SQLite file.
    pub database: Option<String>,
}

impl Rig {
    /// Start the daemon with the agent `agent` and the trunk at `trunk_port`;
    /// `payments` goes into `[payments]`. Logs at trace level.
    pub fn start(dir: tempfile::TempDir, agent: Baresip, trunk_port: u16, payments: &str) -> Rig {
        Rig::start_on(dir, agent, trunk_port, payments, None)
    }

    /// As [`Rig::start`]; with `database` (a URL, e.g. a throwaway PostgreSQL)
    /// the daemon's `[database]` is that instead of the SQLite file in `dir`.
    pub fn start_on(
        dir: tempfile::TempDir,
        agent: Baresip,
        trunk_port: u16,
        payments: &str,
        database: Option<&str>,
    ) -> Rig {
        Rig::start_full(
            dir,
            agent,
            trunk_port,
            payments,
            database,
            "",
            &AgentLine::default(),
        )
    }

    /// As [`Rig::start`], with `sip_keys` (lines such as `media_timeout = "2s"`)
    /// added to the daemon's `[sip]` section.
    pub fn start_with_sip(
        dir: tempfile::TempDir,
        agent: Baresip,
        trunk_port: u16,
        sip_keys: &str,
    ) -> Rig {
        Rig::start_full(
            dir,
            agent,
            trunk_port,
            "",
            None,
            sip_keys,
            &AgentLine::default(),
        )
    }

    /// As [`Rig::start`], the agent's phone reached as `line` says (over
    /// TLS, with `srtp`, more sections such as `[sip.tls]`).
    pub fn start_line(
        dir: tempfile::TempDir,
        agent: Baresip,
        trunk_port: u16,
        line: &AgentLine,
    ) -> Rig {
        Rig::start_full(dir, agent, trunk_port, "", None, "", line)
    }

    fn start_full(
        dir: tempfile::TempDir,
        agent: Baresip,
        trunk_port: u16,
        payments: &str,
        database: Option<&str>,
        sip_keys: &str,
        line: &AgentLine,
    ) -> Rig {
        let sink = WebhookSink::start();
        let http: SocketAddr = ([127, 0, 0, 1], super::free_tcp_port()).into();
        let tail = format!(
            "[http]\nlisten = \"{http}\"\napi_tokens = [\"{MERCHANT_TOKEN}\"]\n\n\
             [webhooks]\nurl = \"{}\"\nsecret = \"{WEBHOOK_SECRET}\"\n\n\
             [[agents]]\nid = \"{AGENT_ID}\"\nname = \"{AGENT_NAME}\"\nsip_uri = \"{}\"\napi_token = \"{AGENT_TOKEN}\"\n{}\n\n\
             [payments]\n{payments}\n{}\n{}",
            sink.url(),
            line.uri.clone().unwrap_or_else(|| agent.uri()),
            line.keys,
            database.map(|url| format!("\n[database]\nurl = \"{url}\"\n")).unwrap_or_default(),
            line.tail,
        );
        let (path, guard) = if std::env::var_os("ORDERLINE_E2E_KEEP").is_some() {
            let p = dir.keep();
            eprintln!("keeping the test's files in {}", p.display());
            (p, None)
        } else {
            (dir.path().to_path_buf(), Some(dir))
        };
        let daemon = Daemon::start_with(&path, trunk_port, &tail, |d| {
            // Every log line at trace level: the card-data search reads them all.
            let cfg = d.join("orderline.toml");
            let text = std::fs::read_to_string(&cfg).expect("config");
            assert!(
                text.contains("level = \"orderline=debug\""),
                "the test config's [log] changed"
            );
            let text = text.replace("level = \"orderline=debug\"", "level = \"trace\"");
            let text = text.replacen("t1_ms = 100\n", &format!("t1_ms = 100\n{sip_keys}\n"), 1);
            std::fs::write(&cfg, text).expect("config");
        });
        Rig {
            dir: path,
            _guard: guard,
            sink,
            http,
            daemon,
            agent,
            seen: Vec::new(),
            database: database.map(str::to_string),
        }
    }

    /// `kill -9` the daemon (no drain), then start `orderline serve` again on
    /// the same config (same database, ports, webhook sink); its log is
    /// appended to the same file, so [`Rig::assert_no_card_data`] reads both runs.
    pub fn kill9_and_restart(&mut self) {
        self.daemon.kill9();
        let (cfg, port, log) = (
            self.daemon.config.clone(),
            self.daemon.port,
            self.daemon.log.clone(),
        );
        self.daemon = Daemon::spawn(&cfg, port, &log);
    }

    /// One API request with `token`; the response body is kept for the search.
    pub fn api_as(
        &mut self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let text = body.map(Value::to_string);
        let (status, resp) = request(self.http, method, path, Some(token), text.as_deref());
        self.seen.push((
            format!("{method} {path} → {status}"),
            resp.clone().into_bytes(),
        ));
        let v = serde_json::from_str(&resp).unwrap_or(Value::String(resp));
        (status, v)
    }

    /// As the merchant.
    pub fn api(&mut self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.api_as(MERCHANT_TOKEN, method, path, body)
    }

    /// The agent logs in (issue #10): its phone is rung and the session's
    /// leg is up within 10 s; calls then connect into it.
    pub fn log_in(&mut self) {
        self.log_in_as(AGENT_ID);
    }

    /// As [`Rig::log_in`], for agent `id`.
    pub fn log_in_as(&mut self, id: &str) {
        let path = format!("/v1/agents/{id}/session");
        let (st, v) = self.api("POST", &path, None);
        assert_eq!(st, 201, "{v}\n{}", self.tail_logs());
        let t0 = Instant::now();
        while self.api("GET", &path, None).1["state"] != "up" {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "{}",
                self.tail_logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The agent calls the customer: `POST /v1/calls` with the agent's own token.
    pub fn dial(&mut self, to: &str) -> String {
        let (st, v) = self.api_as(
            AGENT_TOKEN,
            "POST",
            "/v1/calls",
            Some(&json!({"agent": AGENT_ID, "to": to})),
        );
        assert_eq!(st, 201, "POST /v1/calls: {v}\n{}", self.tail_logs());
        assert_eq!(v["status"], "dialing_agent", "{v}");
        assert_eq!(v["agent"], AGENT_ID, "{v}");
        assert_eq!(v["agent_name"], AGENT_NAME, "{v}");
        assert_eq!(v["to"], to, "{v}");
        v["id"].as_str().expect("call id").to_string()
    }

    pub fn call(&mut self, id: &str) -> Value {
        let (st, v) = self.api("GET", &format!("/v1/calls/{id}"), None);
        assert_eq!(st, 200, "GET call {id}: {v}");
        v
    }

    /// Poll the call until its status is one of `want`.
    pub fn wait_call(&mut self, id: &str, want: &[&str], limit: Duration) -> Value {
        self.wait_status(&format!("/v1/calls/{id}"), want, limit)
    }

    /// Poll `GET path` until its `status` is one of `want`; on timeout, fail
    /// with the last body and both the daemon's and the agent phone's logs.
    fn wait_status(&mut self, path: &str, want: &[&str], limit: Duration) -> Value {
        let t0 = Instant::now();
        loop {
            let (st, v) = self.api("GET", path, None);
            assert_eq!(st, 200, "GET {path}: {v}");
            if want.iter().any(|w| v["status"] == *w) {
                return v;
            }
            assert!(
                t0.elapsed() < limit,
                "{path} is {} after {limit:?}, expected {want:?}: {v}\n{}\nagent phone:\n{}",
                v["status"],
                self.tail_logs(),
                self.agent.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `POST /v1/calls/{id}/payments` as the agent; returns the 201 payment.
    pub fn request_payment(&mut self, call_id: &str) -> Value {
        let body = json!({"item": ITEM, "amount": AMOUNT, "currency": CURRENCY});
        let (st, v) = self.api_as(
            AGENT_TOKEN,
            "POST",
            &format!("/v1/calls/{call_id}/payments"),
            Some(&body),
        );
        assert_eq!(st, 201, "POST payment: {v}\n{}", self.tail_logs());
        assert_eq!(v["status"], "pending", "{v}");
        assert_eq!(v["call_id"], call_id, "{v}");
        assert_eq!(v["agent"], AGENT_ID, "{v}");
        assert_eq!(v["item"], ITEM, "{v}");
        assert_eq!(v["amount"], AMOUNT, "{v}");
        assert_eq!(v["currency"], CURRENCY, "{v}");
        v
    }

    pub fn payment(&mut self, id: &str) -> Value {
        let (st, v) = self.api("GET", &format!("/v1/payments/{id}"), None);
        assert_eq!(st, 200, "GET payment {id}: {v}");
        v
    }

    /// Poll until the payment is `succeeded`, `failed` or `cancelled`.
    pub fn wait_payment_end(&mut self, id: &str, limit: Duration) -> Value {
        self.wait_status(
            &format!("/v1/payments/{id}"),
            &["succeeded", "failed", "cancelled"],
            limit,
        )
    }

    /// Follow the payment's SSE stream in a thread until its `result`.
    pub fn follow_events(
        &self,
        payment_id: &str,
        limit: Duration,
    ) -> std::thread::JoinHandle<(u16, Vec<SseEvent>, Vec<u8>)> {
        let http = self.http;
        let path = format!("/v1/payments/{payment_id}/events");
        std::thread::spawn(move || sse(http, &path, AGENT_TOKEN, "result", limit))
    }

    /// Keep an SSE stream's bytes for the search and return its events.
    pub fn keep_events(&mut self, what: &str, got: (u16, Vec<SseEvent>, Vec<u8>)) -> Vec<SseEvent> {
        let (status, events, raw) = got;
        self.seen.push((format!("SSE {what}"), raw));
        assert_eq!(status, 200, "SSE status for {what}");
        events
    }

    /// The first webhook of `kind` about `payment_id`.
    pub fn wait_hook(&self, kind: &str, payment_id: &str, limit: Duration) -> Hook {
        let t0 = Instant::now();
        loop {
            if let Some(h) =
                self.sink.received().into_iter().find(|h| {
                    h.json()["type"] == kind && h.json()["data"]["payment_id"] == payment_id
                })
            {
                return h;
            }
            assert!(
                t0.elapsed() < limit,
                "no {kind} webhook for {payment_id} within {limit:?}; got: {:?}",
                self.sink
                    .received()
                    .iter()
                    .map(|h| h.body.clone())
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last 60 lines of the daemon's log (for failure messages).
    pub fn tail_logs(&self) -> String {
        let logs = strip_ansi(&self.daemon.logs());
        let lines: Vec<&str> = logs.lines().collect();
        format!(
            "daemon log (last 60 lines):\n{}",
            lines[lines.len().saturating_sub(60)..].join("\n")
        )
    }

    /// The SQLite database and its -wal/-shm, as they are now.
    pub fn db_files(&self) -> Vec<PathBuf> {
        ["orderline.db", "orderline.db-wal", "orderline.db-shm"]
            .iter()
            .map(|f| self.dir.join(f))
            .filter(|p| p.exists())
            .collect()
    }

    /// Card data searched in every daemon log line, the database files, every
    /// webhook (headers and body) and every API/SSE response; and no log line
    /// carries a keyed digit. `extra` adds other sources (e.g. the agent page).
    pub fn assert_no_card_data(&self, secrets: &Secrets, extra: &[(String, Vec<u8>)]) {
        let log = strip_ansi(&self.daemon.logs());
        let mut sources: Vec<(String, Vec<u8>)> =
            vec![("daemon log".into(), log.clone().into_bytes())];
        let dbs = self.db_files();
        if self.database.is_none() {
            assert!(
                dbs.iter().any(|p| p.ends_with("orderline.db")),
                "no SQLite file in {}",
                self.dir.display()
            );
        } else {
            assert!(
                dbs.is_empty(),
                "a SQLite file next to a daemon on {:?}: {dbs:?}",
                self.database
            );
            eprintln!(
                "card-data search: the database is {:?}, its files are not searched",
                self.database
            );
        }
        for p in dbs {
            sources.push((
                p.display().to_string(),
                std::fs::read(&p).expect("read db file"),
            ));
        }
        let hooks = self.sink.received();
        assert!(!hooks.is_empty(), "no webhook received");
        for (i, h) in hooks.iter().enumerate() {
            let headers: String = h
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}\n"))
                .collect();
            sources.push((
                format!("webhook #{i}"),
                format!("{headers}\n{}", h.body).into_bytes(),
            ));
        }
        sources.extend(self.seen.iter().cloned());
        sources.extend(extra.iter().cloned());
        assert_no_card_data(secrets, &sources);
        let bytes = |pred: &dyn Fn(&str) -> bool| {
            sources
                .iter()
                .filter(|(n, _)| pred(n))
                .map(|(_, b)| b.len())
                .sum::<usize>()
        };
        eprintln!(
            "card-data search: {} needles over {} sources — log {} lines / {} KiB, database files {} KiB, {} webhooks, {} API/SSE responses {} KiB",
            secrets.needles.len(),
            sources.len(),
            log.lines().count(),
            log.len() / 1024,
            bytes(&|n| n.contains("orderline.db")) / 1024,
            hooks.len(),
            self.seen.len(),
            bytes(&|n| n.contains(" → ") || n.starts_with("SSE")) / 1024,
        );
        let digits = keyed_digit_lines(&log);
        assert!(
            digits.is_empty(),
            "log lines carry keyed digits:\n{}",
            digits.join("\n")
        );
        assert!(
            log.lines().count() > 50,
            "suspiciously few log lines at trace level: {}",
            log.lines().count()
        );
    }

    /// What the agent heard holds no key in any form: no digit for spandsp or
    /// orderline, no tone fragment, no telephone-event reached the phone.
    pub fn assert_agent_heard_no_dtmf(&self) -> NoDtmfReport {
        let heard = self.agent.heard();
        let report = assert_no_dtmf(&heard, "the agent");
        let events = received_dtmf_lines(&self.agent.logs());
        assert!(
            events.is_empty(),
            "RFC 4733 events reached the agent's phone:\n{}",
            events.join("\n")
        );
        report
    }

    /// The caller was back with the agent after the payment. The agent's
    /// recording starts when the agent answered (`agent_answered_at`); on that
    /// clock the payment ran from `created_at` to `updated_at` (its end). The
    /// agent heard the hold tone inside that window (if `hold`), and after the
    /// payment's end and after the last beep at least 1 s of the caller's
    /// 600 Hz marker — which the caller only sends after its keys.
    pub fn assert_back_with_agent(&self, call: &Value, payment: &Value, hold: bool) {
        let x = read_8k(&self.agent.heard());
        let at = |v: &Value, what: &str| -> f64 {
            let s = v
                .as_str()
                .unwrap_or_else(|| panic!("{what} missing: call {call} payment {payment}"));
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .unwrap_or_else(|e| panic!("{what} {s:?} is not RFC 3339: {e}"));
            t.timestamp_millis() as f64 / 1000.0
        };
        let answered = at(&call["agent_answered_at"], "agent_answered_at");
        let start = at(&payment["created_at"], "payment created_at") - answered;
        let end = at(&payment["updated_at"], "payment updated_at") - answered;
        assert!(
            start >= 0.0 && end > start,
            "payment window {start:.2}-{end:.2} s after the agent answered"
        );
        let frame = |t: f64| (t.max(0.0) * 50.0) as usize;
        let beeps = tone_frames(&x, HOLD_HZ, 300.0);
        let in_payment = beeps
            .iter()
            .filter(|&&f| f >= frame(start - 0.5) && f <= frame(end + 0.5))
            .count();
        if hold {
            assert!(
                in_payment >= 5,
                "the agent heard {in_payment} frames of the {HOLD_HZ} Hz hold tone during the payment ({start:.1}-{end:.1} s); all {HOLD_HZ} Hz frames at {:?} (20 ms)",
                &beeps[..beeps.len().min(40)]
            );
        }
        let after = beeps.last().map_or(0, |&f| f + 1).max(frame(end - 1.0));
        let marker: Vec<usize> = tone_frames(&x, MARKER_HZ, 1500.0)
            .into_iter()
            .filter(|&f| f >= after)
            .collect();
        let (first, len) = longest_run(&marker);
        eprintln!(
            "agent heard: {in_payment} hold-tone frames in the payment ({start:.1}-{end:.1} s after answering), then the caller's marker for {:.1} s from {:.1} s",
            len as f64 / 50.0,
            first as f64 / 50.0
        );
        assert!(
            len >= 50,
            "the agent did not hear the caller's {MARKER_HZ} Hz marker after the payment (longest run {len} frames at {:.2} s; payment {start:.1}-{end:.1} s; last hold beep {:.2} s; recording {:.1} s)",
            first as f64 / 50.0,
            beeps.last().map_or(0.0, |&f| f as f64 / 50.0),
            x.len() as f64 / 8000.0
        );
    }
}

/// Recompute the Standard Webhooks signature independently of the daemon.
pub fn assert_signed(h: &Hook) {
    let id = h.header("webhook-id").expect("webhook-id header");
    let ts = h
        .header("webhook-timestamp")
        .expect("webhook-timestamp header");
    let sig = h
        .header("webhook-signature")
        .expect("webhook-signature header");
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("hmac key");
    mac.update(format!("{id}.{ts}.{}", h.body).as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert!(
        sig.split(' ').any(|s| s == expected),
        "bad signature {sig}, expected {expected}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let age = now - ts.parse::<i64>().expect("unix seconds");
    assert!(age.abs() < 120, "webhook-timestamp {ts} is {age} s off");
}

/// A `YYYY-MM-DD HH:MM:SS` UTC timestamp within 10 minutes of now.
pub fn assert_note_timestamp(ts: &Value) {
    let s = ts
        .as_str()
        .unwrap_or_else(|| panic!("timestamp {ts} is not a string"));
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("timestamp {s:?} is not YYYY-MM-DD HH:MM:SS: {e}"));
    assert_eq!(s.len(), 19, "timestamp {s:?}");
    let now = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()).naive_utc();
    let age = now - t;
    assert!(
        age.num_seconds().abs() < 600,
        "timestamp {s} is {} s from now (UTC)",
        age.num_seconds()
    );
}

/// The steps of a payment object: (step, status, reason).
pub fn steps(p: &Value) -> Vec<(String, String, Option<String>)> {
    p["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("payment has no steps array: {p}"))
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap_or_default().to_string(),
                s["status"].as_str().unwrap_or_default().to_string(),
                s["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// The last status each step reached.
pub fn last_status(steps: &[(String, String, Option<String>)], step: &str) -> Option<String> {
    steps
        .iter()
        .rev()
        .find(|(s, _, _)| s == step)
        .map(|(_, st, _)| st.clone())
}
