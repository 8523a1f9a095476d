//! The registrar on simulated time: every rule of RFC 3261 §10.3 it applies,
//! digest with stale nonces, no enumeration, and the per-source block.

use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::digest::{authorize, parse_challenge, DigestRequest};

const T0: UnixMs = 1_800_000_000_000;
const PHONE: &str = "127.0.0.1:5062";

fn cfg() -> RegistrarConfig {
    RegistrarConfig {
        domain: "example.test".into(),
        aliases: vec!["127.0.0.1".into()],
        max_auth_failures: 3,
        auth_failure_window: Duration::from_secs(60),
        block_for: Duration::from_secs(300),
        nonce_lifetime: Duration::from_secs(30),
        ..RegistrarConfig::default()
    }
}

fn registrar(c: RegistrarConfig) -> Registrar {
    let accounts = vec![
        Account::from_password("ayesha", "1001", &c.domain, "s3cret-pass"),
        Account::from_password("bilal", "1002", &c.domain, "other-pass"),
    ];
    Registrar::new(c, accounts, [9; 32])
}

struct Phone {
    user: &'static str,
    password: &'static str,
    call_id: String,
    cseq: u32,
    nc: u32,
    challenge: Option<String>,
    source: SocketAddr,
}

impl Phone {
    fn new(user: &'static str, password: &'static str) -> Phone {
        Phone {
            user,
            password,
            call_id: format!("cid-{user}"),
            cseq: 0,
            nc: 0,
            challenge: None,
            source: PHONE.parse().expect("addr"),
        }
    }

    /// A REGISTER with `contacts` lines and headers, authorized if a challenge is known.
    fn register(&mut self, contact_lines: &[&str], extra: &[&str]) -> Message {
        self.cseq += 1;
        let mut s = format!(
            "REGISTER sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK{}{}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{u}@example.test>;tag=ft\r\nTo: <sip:{u}@example.test>\r\n\
             Call-ID: {}\r\nCSeq: {} REGISTER\r\n",
            self.call_id,
            self.cseq,
            self.call_id,
            self.cseq,
            u = self.user
        );
        for c in contact_lines {
            s.push_str(&format!("Contact: {c}\r\n"));
        }
        for h in extra {
            s.push_str(&format!("{h}\r\n"));
        }
        if let Some(ch) = &self.challenge {
            let ch = parse_challenge(ch).expect("challenge");
            self.nc += 1;
            let auth = authorize(
                &ch,
                &DigestRequest {
                    method: "REGISTER",
                    uri: "sip:example.test",
                    username: self.user,
                    password: self.password,
                    cnonce: "c0ffee",
                    nc: self.nc,
                    body: b"",
                },
            )
            .expect("authorize");
            s.push_str(&format!("Authorization: {auth}\r\n"));
        }
        s.push_str("Content-Length: 0\r\n\r\n");
        Message::parse(s.as_bytes()).expect("REGISTER parses")
    }

    /// Register (answering one challenge) and return the final reply.
    fn send(&mut self, r: &mut Registrar, now: UnixMs, contacts: &[&str], extra: &[&str]) -> Reply {
        let mut rng = StdRng::seed_from_u64(u64::from(self.cseq));
        let req = self.register(contacts, extra);
        let reply = r.handle(now, self.source, Transport::Udp, &req, &mut rng);
        if reply.status != 401 {
            return reply;
        }
        self.take_challenge(&reply);
        let req = self.register(contacts, extra);
        r.handle(now, self.source, Transport::Udp, &req, &mut rng)
    }

    /// The final status of registering one `contact`.
    fn status(&mut self, r: &mut Registrar, now: UnixMs, contact: &str) -> u16 {
        self.send(r, now, &[contact], &[]).status
    }

    fn take_challenge(&mut self, reply: &Reply) {
        self.challenge = www(reply).first().cloned();
        self.nc = 0;
    }
}

fn www(r: &Reply) -> Vec<String> {
    r.headers
        .iter()
        .filter(|(n, _)| n == "WWW-Authenticate")
        .map(|(_, v)| v.clone())
        .collect()
}

fn contacts(r: &Reply) -> Vec<String> {
    r.headers
        .iter()
        .filter(|(n, _)| n == "Contact")
        .map(|(_, v)| v.clone())
        .collect()
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(1)
}

#[test]
fn first_register_is_challenged_with_md5_and_qop_auth_then_binds() {
    let mut r = registrar(cfg());
    let mut p = Phone::new("1001", "s3cret-pass");
    let req = p.register(&["<sip:1001@127.0.0.1:5062>"], &["Expires: 600"]);
    let first = r.handle(T0, p.source, Transport::Udp, &req, &mut rng());
    assert_eq!(first.status, 401);
    let ch = www(&first);
    assert_eq!(ch.len(), 1, "default policy offers MD5 only: {ch:?}");
    let parsed = parse_challenge(&ch[0]).expect("parses");
    assert_eq!(parsed.algorithm, Algorithm::Md5);
    assert_eq!(parsed.realm, "example.test");
    assert_eq!(parsed.qop, vec![Qop::Auth]);
    assert!(!parsed.stale);
    assert!(r.contacts("ayesha", T0).is_empty());
    p.take_challenge(&first);
    let req = p.register(&["<sip:1001@127.0.0.1:5062>"], &["Expires: 600"]);
    let ok = r.handle(T0, p.source, Transport::Udp, &req, &mut rng());
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(
        contacts(&ok),
        vec!["<sip:1001@127.0.0.1:5062>;expires=600".to_string()]
    );
    let b = r.contacts("ayesha", T0 + 1000);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].source, p.source);
    assert_eq!(b[0].expires_at, T0 + 600_000);
    assert!(matches!(r.poll_change(), Some(BindingChange::Saved(ref s)) if s.agent_id == "ayesha"));
}

#[test]
fn both_policy_offers_sha256_first_and_accepts_it() {
    let mut r = registrar(RegistrarConfig {
        digest: DigestPolicy::Both,
        ..cfg()
    });
    let mut p = Phone::new("1001", "s3cret-pass");
    let req = p.register(&["<sip:1001@127.0.0.1:5062>"], &[]);
    let first = r.handle(T0, p.source, Transport::Udp, &req, &mut rng());
    let ch = www(&first);
    assert_eq!(ch.len(), 2);
    assert!(
        ch[0].contains("algorithm=SHA-256") && ch[1].contains("algorithm=MD5"),
        "{ch:?}"
    );
    p.take_challenge(&first);
    let req = p.register(&["<sip:1001@127.0.0.1:5062>"], &[]);
    assert_eq!(
        r.handle(T0, p.source, Transport::Udp, &req, &mut rng())
            .status,
        200
    );
}

#[test]
fn wrong_password_and_unknown_user_look_the_same() {
    let mut r = registrar(RegistrarConfig {
        max_auth_failures: 100,
        ..cfg()
    });
    let mut wrong = Phone::new("1001", "guess");
    let mut ghost = Phone::new("9999", "guess");
    let a = wrong.send(&mut r, T0, &["<sip:x@127.0.0.1:5062>"], &[]);
    let b = ghost.send(&mut r, T0, &["<sip:x@127.0.0.1:5062>"], &[]);
    assert_eq!((a.status, a.reason), (b.status, b.reason));
    assert_eq!(a.status, 401);
    // Same headers once the nonce (random) is masked.
    let mask = |r: &Reply| -> Vec<(String, String)> {
        r.headers
            .iter()
            .map(|(n, v)| {
                let v = match (v.find("nonce=\""), v.find("\", algorithm")) {
                    (Some(s), Some(e)) => format!("{}{}", &v[..s], &v[e..]),
                    _ => v.clone(),
                };
                (n.clone(), v)
            })
            .collect()
    };
    assert_eq!(mask(&a), mask(&b));
    assert!(r.contacts("ayesha", T0).is_empty());
}

#[test]
fn expired_nonce_with_the_right_password_is_stale_and_replay_is_refused() {
    let mut r = registrar(cfg());
    let mut p = Phone::new("1001", "s3cret-pass");
    assert_eq!(p.status(&mut r, T0, "<sip:1001@127.0.0.1:5062>"), 200);
    // Refresh with the cached nonce after its 30 s lifetime.
    let req = p.register(&["<sip:1001@127.0.0.1:5062>"], &[]);
    let stale = r.handle(T0 + 31_000, p.source, Transport::Udp, &req, &mut rng());
    assert_eq!(stale.status, 401);
    assert!(www(&stale)[0].contains("stale=true"), "{stale:?}");
    // A wrong password on an expired nonce is not stale.
    let mut w = Phone::new("1001", "nope");
    w.challenge = p.challenge.clone();
    let req = w.register(&["<sip:1001@127.0.0.1:5062>"], &[]);
    let fresh = r.handle(T0 + 31_000, w.source, Transport::Udp, &req, &mut rng());
    assert!(!www(&fresh)[0].contains("stale"), "{fresh:?}");
    // Replaying an accepted request (same nonce, same nc) gets no binding write.
    p.take_challenge(&stale);
    let req = p.register(&["<sip:1001@127.0.0.1:5062>"], &[]);
    assert_eq!(
        r.handle(T0 + 31_000, p.source, Transport::Udp, &req, &mut rng())
            .status,
        200
    );
    let replay = r.handle(T0 + 31_001, p.source, Transport::Udp, &req, &mut rng());
    assert_eq!(replay.status, 401);
    assert!(www(&replay)[0].contains("stale=true"));
}

#[test]
fn expires_is_bounded_423_below_min_clamped_above_max_default_otherwise() {
    let mut r = registrar(cfg());
    let mut p = Phone::new("1001", "s3cret-pass");
    let brief = p.send(&mut r, T0, &["<sip:1001@127.0.0.1:5062>"], &["Expires: 30"]);
    assert_eq!(brief.status, 423);
    assert!(brief.headers.contains(&("Min-Expires".into(), "60".into())));
    assert!(r.contacts("ayesha", T0).is_empty());
    let long = p.send(
        &mut r,
        T0,
        &["<sip:1001@127.0.0.1:5062>;expires=99999"],
        &["Expires: 30"],
    );
    assert_eq!(
        long.status, 200,
        "the contact's expires wins over the header"
    );
    assert_eq!(
        contacts(&long),
        vec!["<sip:1001@127.0.0.1:5062>;expires=3600".to_string()]
    );
    let none = p.send(&mut r, T0, &["<sip:1001@127.0.0.1:5064>"], &[]);
    assert!(contacts(&none).contains(&"<sip:1001@127.0.0.1:5064>;expires=3600".to_string()));
}

#[test]
fn beyond_max_contacts_the_least_recently_refreshed_is_replaced() {
    let mut r = registrar(RegistrarConfig {
        max_contacts: 2,
        ..cfg()
    });
    let mut p = Phone::new("1001", "s3cret-pass");
    for (i, port) in [5062, 5064, 5066].iter().enumerate() {
        let c = format!("<sip:1001@127.0.0.1:{port}>");
        assert_eq!(p.send(&mut r, T0 + i as u64 * 1000, &[&c], &[]).status, 200);
    }
    let live: Vec<String> = r
        .contacts("ayesha", T0 + 5000)
        .into_iter()
        .map(|b| b.contact)
        .collect();
    assert_eq!(
        live,
        vec!["sip:1001@127.0.0.1:5066", "sip:1001@127.0.0.1:5064"]
    );
}

#[test]
fn expires_zero_removes_one_and_star_removes_all() {
    let mut r = registrar(cfg());
    let mut p = Phone::new("1001", "s3cret-pass");
    p.send(
        &mut r,
        T0,
        &["<sip:1001@127.0.0.1:5062>", "<sip:1001@127.0.0.1:5064>"],
        &[],
    );
    assert_eq!(r.contacts("ayesha", T0).len(), 2);
    let one = p.send(&mut r, T0, &["<sip:1001@127.0.0.1:5062>;expires=0"], &[]);
    assert_eq!(one.status, 200);
    assert_eq!(contacts(&one).len(), 1);
    assert_eq!(
        r.contacts("ayesha", T0)[0].contact,
        "sip:1001@127.0.0.1:5064"
    );
    // `*` needs Expires: 0.
    assert_eq!(p.status(&mut r, T0, "*"), 400);
    let all = p.send(&mut r, T0, &["*"], &["Expires: 0"]);
    assert_eq!(all.status, 200);
    assert!(contacts(&all).is_empty());
    assert!(r.contacts("ayesha", T0).is_empty());
    let removed = std::iter::from_fn(|| r.poll_change())
        .filter(|c| matches!(c, BindingChange::Removed { .. }))
        .count();
    assert_eq!(removed, 2);
}

#[test]
fn same_call_id_needs_a_higher_cseq_and_another_call_id_may_update() {
    let mut r = registrar(cfg());
    let mut p = Phone::new("1001", "s3cret-pass");
    assert_eq!(p.status(&mut r, T0, "<sip:1001@127.0.0.1:5062>"), 200);
    let written = r.contacts("ayesha", T0)[0].cseq;
    // The same Call-ID with a lower CSeq (a delayed old REGISTER) is refused.
    p.cseq = written - 2;
    let old = p.send(
        &mut r,
        T0 + 1,
        &["<sip:1001@127.0.0.1:5062>;expires=0"],
        &[],
    );
    assert_eq!(old.status, 400);
    assert_eq!(
        r.contacts("ayesha", T0 + 1).len(),
        1,
        "an out-of-order REGISTER removed a binding"
    );
    // Another Call-ID (the phone restarted) may rewrite it with any CSeq.
    let mut again = Phone::new("1001", "s3cret-pass");
    again.call_id = "restarted".into();
    assert_eq!(
        again.status(&mut r, T0 + 2, "<sip:1001@127.0.0.1:5062>"),
        200
    );
    assert_eq!(r.contacts("ayesha", T0 + 2)[0].call_id, "restarted");
}

#[test]
fn bindings_lapse_on_time() {
    let mut r = registrar(cfg());
    let mut p = Phone::new("1001", "s3cret-pass");
    p.send(&mut r, T0, &["<sip:1001@127.0.0.1:5062>;expires=60"], &[]);
    while r.poll_change().is_some() {}
    assert_eq!(r.poll_timeout(), Some(T0 + 60_000));
    r.expire(T0 + 59_999);
    assert_eq!(r.contacts("ayesha", T0 + 59_999).len(), 1);
    assert!(r.poll_change().is_none());
    assert!(
        r.contacts("ayesha", T0 + 60_000).is_empty(),
        "lookup shows a lapsed binding"
    );
    r.expire(T0 + 60_000);
    assert!(matches!(
        r.poll_change(),
        Some(BindingChange::Removed { .. })
    ));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn failed_logins_block_their_source_and_not_another() {
    let mut r = registrar(cfg());
    let mut cracker = Phone::new("1001", "wrong");
    cracker.source = "127.0.0.2:40000".parse().expect("addr");
    // Each send is a challenge and an answer: failures 1, then 2 and 3.
    assert_eq!(
        cracker.status(&mut r, T0, "<sip:1001@127.0.0.2:40000>"),
        401
    );
    assert!(!r.is_blocked(cracker.source.ip(), T0));
    assert_eq!(
        cracker.status(&mut r, T0, "<sip:1001@127.0.0.2:40000>"),
        401
    );
    assert!(r.is_blocked(cracker.source.ip(), T0));
    assert_eq!(
        cracker.status(&mut r, T0, "<sip:1001@127.0.0.2:40000>"),
        403
    );
    // Even the right password from the blocked address gets 403 now.
    let mut right_there = Phone::new("1001", "s3cret-pass");
    right_there.source = cracker.source;
    assert_eq!(
        right_there.status(&mut r, T0 + 1, "<sip:1001@127.0.0.2:40000>"),
        403
    );
    // The real phone elsewhere registers.
    let mut phone = Phone::new("1001", "s3cret-pass");
    assert_eq!(
        phone.status(&mut r, T0 + 1, "<sip:1001@127.0.0.1:5062>"),
        200
    );
    // The block lifts after block_for.
    assert!(!r.is_blocked(cracker.source.ip(), T0 + 300_001));
    // A challenge without credentials is not a failure.
    let mut polite = Phone::new("1002", "other-pass");
    polite.source = "127.0.0.3:5060".parse().expect("addr");
    for _ in 0..5 {
        let req = polite.register(&["<sip:1002@127.0.0.3:5060>"], &[]);
        assert_eq!(
            r.handle(T0, polite.source, Transport::Udp, &req, &mut rng())
                .status,
            401
        );
    }
    assert!(!r.is_blocked(polite.source.ip(), T0));
}

#[test]
fn another_users_aor_and_foreign_domains_are_refused() {
    let mut r = registrar(cfg());
    let mut p = Phone::new("1001", "s3cret-pass");
    assert_eq!(p.status(&mut r, T0, "<sip:1001@127.0.0.1:5062>"), 200);
    // Authenticated as 1001, registering 1002's AOR.
    let req = p.register(&["<sip:1001@127.0.0.1:5062>"], &[]);
    let text = String::from_utf8(req.to_bytes())
        .expect("utf8")
        .replace("To: <sip:1001@example.test>", "To: <sip:1002@example.test>");
    let req = Message::parse(text.as_bytes()).expect("parses");
    assert_eq!(
        r.handle(T0, p.source, Transport::Udp, &req, &mut rng())
            .status,
        403
    );
    let text = String::from_utf8(p.register(&[], &[]).to_bytes())
        .expect("utf8")
        .replace("REGISTER sip:example.test", "REGISTER sip:elsewhere.test");
    let req = Message::parse(text.as_bytes()).expect("parses");
    assert_eq!(
        r.handle(T0, p.source, Transport::Udp, &req, &mut rng())
            .status,
        404
    );
}

#[test]
fn restore_keeps_live_bindings_of_known_agents_only() {
    let mut r = registrar(cfg());
    let b = |agent: &str, exp: UnixMs| Binding {
        agent_id: agent.into(),
        contact: "sip:1001@127.0.0.1:5062".into(),
        source: PHONE.parse().expect("addr"),
        transport: Transport::Udp,
        call_id: "c".into(),
        cseq: 1,
        expires_at: exp,
        updated_at: T0 - 1000,
        user_agent: None,
    };
    r.restore(
        vec![
            b("ayesha", T0 + 10_000),
            b("bilal", T0 - 1),
            b("gone", T0 + 10_000),
        ],
        T0,
    );
    assert_eq!(r.contacts("ayesha", T0).len(), 1);
    assert!(r.contacts("bilal", T0).is_empty());
    assert!(r.contacts("gone", T0).is_empty());
    let removed = std::iter::from_fn(|| r.poll_change()).count();
    assert_eq!(removed, 2);
    assert!(r.has_account("bilal") && !r.has_account("gone"));
}

#[test]
fn credentials_for_another_request_uri_are_refused() {
    let mut r = registrar(cfg());
    let mut p = Phone::new("1001", "s3cret-pass");
    let req = p.register(&["<sip:1001@127.0.0.1:5062>"], &[]);
    let first = r.handle(T0, p.source, Transport::Udp, &req, &mut rng());
    let ch = parse_challenge(&www(&first)[0]).expect("challenge");
    let auth = authorize(
        &ch,
        &DigestRequest {
            method: "REGISTER",
            uri: "sip:elsewhere.test",
            username: "1001",
            password: "s3cret-pass",
            cnonce: "c0ffee",
            nc: 1,
            body: b"",
        },
    )
    .expect("authorize");
    let text = String::from_utf8(p.register(&["<sip:1001@127.0.0.1:5062>"], &[]).to_bytes())
        .expect("utf8")
        .replace(
            "Content-Length: 0",
            &format!("Authorization: {auth}\r\nContent-Length: 0"),
        );
    let req = Message::parse(text.as_bytes()).expect("parses");
    assert_eq!(
        r.handle(T0, p.source, Transport::Udp, &req, &mut rng())
            .status,
        401
    );
    assert!(r.contacts("ayesha", T0).is_empty());
}

/// An agent created while running registers with an account built from its
/// stored HA1 hashes (no password kept); a user name held by another agent
/// is refused.
#[test]
fn accounts_added_while_running_from_ha1_register() {
    let c = cfg();
    let md5 = crate::digest::ha1(Algorithm::Md5, "2001", &c.domain, "api-pass-99");
    let sha = crate::digest::ha1(Algorithm::Sha256, "2001", &c.domain, "api-pass-99");
    let mut r = Registrar::new(c, Vec::new(), [9; 32]);
    assert!(!r.has_account("carol"));
    assert!(r.add_account(Account::from_ha1("carol", "2001", &md5, &sha)));
    assert!(r.has_account("carol"));
    let mut p = Phone::new("2001", "api-pass-99");
    let req = p.register(&["<sip:2001@127.0.0.1:5062>"], &["Expires: 600"]);
    let first = r.handle(T0, p.source, Transport::Udp, &req, &mut rng());
    assert_eq!(first.status, 401);
    p.take_challenge(&first);
    let req = p.register(&["<sip:2001@127.0.0.1:5062>"], &["Expires: 600"]);
    let ok = r.handle(T0, p.source, Transport::Udp, &req, &mut rng());
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(r.contacts("carol", T0).len(), 1);
    // 2001 is carol's: another agent cannot take it.
    assert!(!r.add_account(Account::from_ha1("dan", "2001", &md5, &sha)));
    assert!(!r.has_account("dan"));
    // carol's account replaced under a new user: the old user is gone.
    assert!(r.add_account(Account::from_password(
        "carol",
        "2002",
        "example.test",
        "x-pass-123"
    )));
    assert!(r.add_account(Account::from_ha1("dan", "2001", &md5, &sha)));
}
