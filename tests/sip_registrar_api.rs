//! Agents created over the API register their phones (issue #10): with no
//! config agent registering, the daemon still answers REGISTER (401, not
//! 405) and lists REGISTER in Allow; `POST /v1/agents` with `sip_user` and
//! `sip_password` shows the password once and stores only its HA1 hashes;
//! a real baresip registers as that agent, is reached through its binding,
//! and still is after a daemon restart (the account comes back from the
//! store).

#[macro_use]
mod support;

use std::net::{SocketAddr, UdpSocket};
use std::process::Child;
use std::time::Duration;

use md5::{Digest, Md5};
use orderline::store::{Store, StoredBinding};
use support::http::json;
use support::*;

const MERCHANT: &str = "merchant-token-apireg-8c2b";
const AGENT: &str = "carol";
const USER: &str = "2001";
const PASSWORD: &str = "api-phone-pass-51d0";

struct Rig {
    dir: tempfile::TempDir,
    daemon: Daemon,
    http: SocketAddr,
    customer: Child,
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.customer.kill();
        let _ = self.customer.wait();
    }
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let trunk = free_udp_port();
    let customer = registering::customer(trunk);
    let http: SocketAddr = ([127, 0, 0, 1], free_tcp_port()).into();
    // No [[agents]] at all: nobody registers by config.
    let tail = format!(
        "[http]\nlisten = \"{http}\"\napi_tokens = [\"{MERCHANT}\"]\n\n\
         [sip.registrar]\nmin_expires = 2\nmax_expires = 60\ndefault_expires = 60\n"
    );
    let daemon = Daemon::start_with(dir.path(), trunk, &tail, |_| {});
    Rig {
        dir,
        daemon,
        http,
        customer,
    }
}

/// Send one request and return the whole first answer.
fn ask(port: u16, method: &str, user: &str) -> String {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let me = sock.local_addr().expect("addr");
    let msg = format!(
        "{method} sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {me};rport;branch=z9hG4bK{method}{n}\r\n\
         From: <sip:{user}@127.0.0.1>;tag=a1\r\nTo: <sip:{user}@127.0.0.1>\r\nCall-ID: {method}-{n}@test\r\n\
         CSeq: 1 {method}\r\nContact: <sip:{user}@{me}>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        n = me.port()
    );
    sock.send_to(msg.as_bytes(), ("127.0.0.1", port))
        .expect("send");
    sock.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).expect("an answer");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

impl Rig {
    fn db(&self) -> String {
        format!(
            "sqlite://{}",
            self.dir.path().join("orderline.db").display()
        )
    }

    fn wait_bindings(
        &self,
        what: &str,
        ok: impl Fn(&[StoredBinding]) -> bool,
    ) -> Vec<StoredBinding> {
        registering::wait_bindings(
            self.dir.path(),
            what,
            Duration::from_secs(10),
            || self.daemon.logs(),
            ok,
        )
    }

    fn create(&self, body: &str) -> (u16, serde_json::Value) {
        json(self.http, "POST", "/v1/agents", MERCHANT, Some(body))
    }

    fn call_reaches(&self, phone: &Baresip) {
        registering::call_reaches(self.http, MERCHANT, AGENT, phone, || self.daemon.logs());
    }
}

fn hex_md5(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn an_api_agent_registers_a_real_phone_and_is_called_through_its_binding() {
    let mut rig = rig();
    let port = rig.daemon.port;

    // The registrar is on with no config agent: REGISTER gets a challenge
    // (not 405), and Allow lists REGISTER.
    let options = ask(port, "OPTIONS", "probe");
    assert!(options.starts_with("SIP/2.0 200"), "{options}");
    assert!(
        header(&options, "Allow").is_some_and(|a| a.contains("REGISTER")),
        "{options}"
    );
    let reg = ask(port, "REGISTER", USER);
    assert!(
        reg.starts_with("SIP/2.0 401"),
        "REGISTER before the agent exists: {reg}"
    );

    // Bad requests name their field.
    for (body, status, field) in [
        (
            r#"{"id":"x","name":"X","sip_uri":"sip:x@127.0.0.1","sip_user":"2009","sip_password":"long-enough-1"}"#,
            422,
            "sip_uri",
        ),
        (
            r#"{"id":"x","name":"X","sip_user":"2009"}"#,
            422,
            "sip_password",
        ),
        (
            r#"{"id":"x","name":"X","sip_user":"2009","sip_password":"short"}"#,
            422,
            "sip_password",
        ),
        (
            r#"{"id":"x","name":"X","sip_user":"20 09","sip_password":"long-enough-1"}"#,
            422,
            "sip_user",
        ),
        (r#"{"id":"x","name":"X"}"#, 422, "sip_uri"),
    ] {
        let (st, v) = rig.create(body);
        assert_eq!(
            (st, v["field"].as_str()),
            (status, Some(field)),
            "{body}: {v}"
        );
    }

    // Create the agent: the password is shown once, in the 201.
    let (st, v) = rig.create(&format!(
        r#"{{"id":"{AGENT}","name":"Carol Ahmed","sip_user":"{USER}","sip_password":"{PASSWORD}"}}"#
    ));
    assert_eq!(st, 201, "{v}\n{}", rig.daemon.logs());
    let created = v.clone();
    assert_eq!(v["sip_password"], PASSWORD);
    assert_eq!(v["sip_user"], USER);
    assert_eq!(v["sip_uri"], format!("sip:{USER}@127.0.0.1"));
    assert!(v["api_token"]
        .as_str()
        .is_some_and(|t| t.starts_with("agt_")));
    // The same user again is refused.
    let (st, v) = rig.create(&format!(
        r#"{{"id":"dave","name":"Dave","sip_user":"{USER}","sip_password":"another-pass-2"}}"#
    ));
    assert_eq!((st, v["field"].as_str()), (409, Some("sip_user")), "{v}");

    // Stored: HA1 = MD5(user:realm:password), never the password itself.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stored = rt.block_on(async {
        let store = Store::open(&rig.db()).await.expect("store");
        let v = store.registering_agents().await.expect("registering");
        store.close().await;
        v
    });
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, AGENT);
    assert_eq!(
        stored[0].1.ha1_md5,
        hex_md5(&format!("{USER}:127.0.0.1:{PASSWORD}"))
    );
    assert_eq!(stored[0].1.ha1_sha256.len(), 64);
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(rig.dir.path()).expect("dir") {
        let p = entry.expect("entry").path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("orderline.db"))
        {
            raw.extend(std::fs::read(&p).expect("db file"));
        }
    }
    assert!(!raw.is_empty());
    assert!(
        !raw.windows(PASSWORD.len())
            .any(|w| w == PASSWORD.as_bytes()),
        "the SIP password is in the database"
    );
    assert!(
        !rig.daemon.logs().contains(PASSWORD),
        "the SIP password is in the daemon's log"
    );

    // A real baresip registers as the new agent, with digest, at once.
    let src = rig.dir.path().join("carol.wav");
    write_wav(&src, &support::keypad::tone_audio(3.0, 1000.0, 2300.0));
    let phone = Baresip::registering(rig.dir.path(), "carol", USER, PASSWORD, port, 60, &src, 120);
    let b = rig.wait_bindings("the API agent's phone registers", |b| b.len() == 1);
    assert_eq!(b[0].agent_id, AGENT);
    assert_eq!(b[0].source, format!("127.0.0.1:{}", phone.port));
    let (st, agents) = json(rig.http, "GET", "/v1/agents", MERCHANT, None);
    assert_eq!(st, 200);
    let carol = agents["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["id"] == AGENT))
        .cloned()
        .expect("carol listed");
    assert_eq!(
        carol["registrations"].as_array().map(Vec::len),
        Some(1),
        "{carol}"
    );
    assert_eq!(carol["state"], "offline", "{carol}");
    rig.call_reaches(&phone);

    // The agents' floor runs in the daemon: her own token sees her state
    // (offline: no session yet), the rules refuse "ready", the events
    // stream opens with her state, and the call takes a disposition.
    let token = created["api_token"].as_str().expect("token").to_string();
    let (st, me) = json(
        rig.http,
        "GET",
        &format!("/v1/agents/{AGENT}"),
        &token,
        None,
    );
    assert_eq!((st, me["state"].as_str()), (200, Some("offline")), "{me}");
    assert_eq!(me["today"]["talking"], 0, "{me}");
    let (st, v) = json(
        rig.http,
        "PUT",
        &format!("/v1/agents/{AGENT}/state"),
        &token,
        Some(r#"{"state":"ready"}"#),
    );
    assert_eq!((st, v["field"].as_str()), (409, Some("state")), "{v}");
    let (st, events, _) = support::http::sse(
        rig.http,
        &format!("/v1/agents/{AGENT}/events"),
        &token,
        "state",
        Duration::from_secs(5),
    );
    assert_eq!(st, 200);
    assert_eq!(
        events.first().map(|e| e.0.as_str()),
        Some("state"),
        "{events:?}"
    );
    let (_, calls) = json(rig.http, "GET", "/v1/calls", &token, None);
    let call_id = calls["calls"][0]["id"]
        .as_str()
        .expect("her call")
        .to_string();
    let (st, v) = json(
        rig.http,
        "POST",
        &format!("/v1/calls/{call_id}/disposition"),
        &token,
        Some(r#"{"disposition":"wrong_number","note":"not the buyer"}"#),
    );
    assert_eq!(
        (st, v["disposition"].as_str()),
        (200, Some("wrong_number")),
        "{v}"
    );
    assert_eq!(v["agent_state"], "offline");

    // Restart: the account comes back from the store (the phone does not
    // register again within regint 60) and it is still reached.
    let registered = |p: &Baresip| p.logs().matches("200 OK").count();
    let before = registered(&phone);
    rig.daemon.kill9();
    let (cfg, log) = (rig.daemon.config.clone(), rig.daemon.log.clone());
    rig.daemon = Daemon::spawn(&cfg, port, &log);
    rig.call_reaches(&phone);
    assert_eq!(
        registered(&phone),
        before,
        "the phone registered again; the restart proved nothing"
    );
}
