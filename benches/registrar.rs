//! REGISTER handling by the sans-IO registrar, against parsing the same
//! REGISTER (what the endpoint does for every request anyway), in the same run.
//!
//! - challenge: a REGISTER without credentials → 401 with a fresh nonce;
//! - refresh: an authorized refresh (digest verify, nonce count, binding update) → 200;
//! - blocked: a REGISTER from a blocked source → 403 without digest work.
//!
//! `cargo bench --bench registrar`

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use orderline::sip::digest::{authorize, parse_challenge, DigestRequest};
use orderline::sip::registrar::{Account, Registrar, RegistrarConfig};
use orderline::sip::{Message, Transport};
use rand::rngs::StdRng;
use rand::SeedableRng;

const N: u32 = 20_000;
const T0: u64 = 1_800_000_000_000;

fn text(cseq: u32, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;rport;branch=z9hG4bK{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=f\r\nTo: <sip:1001@127.0.0.1>\r\n\
         Call-ID: bench@127.0.0.1\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:1001@127.0.0.1:5062>\r\n\
         Expires: 600\r\n{auth}Content-Length: 0\r\n\r\n"
    )
}

fn per_sec(label: &str, n: u32, d: Duration) -> f64 {
    let r = f64::from(n) / d.as_secs_f64();
    println!(
        "{label:>10}: {r:>12.0} REGISTERs/s ({:.2} µs each)",
        1e6 / r
    );
    r
}

fn main() {
    let cfg = RegistrarConfig {
        nonce_lifetime: Duration::from_secs(3600),
        max_auth_failures: 1,
        ..RegistrarConfig::default()
    };
    let accounts = vec![Account::from_password(
        "ayesha",
        "1001",
        &cfg.domain,
        "phone-pass-42",
    )];
    let mut reg = Registrar::new(cfg, accounts, [5; 32]);
    let mut rng = StdRng::seed_from_u64(7);
    let phone: SocketAddr = "127.0.0.1:5062".parse().expect("addr");
    let plain = text(1, None);

    // Reference: parsing the REGISTER.
    let t = Instant::now();
    for _ in 0..N {
        black_box(Message::parse(black_box(plain.as_bytes())).expect("parses"));
    }
    let parse = per_sec("parse", N, t.elapsed());

    // Challenge path.
    let req = Message::parse(plain.as_bytes()).expect("parses");
    let t = Instant::now();
    let mut last = None;
    for _ in 0..N {
        last = Some(reg.handle(T0, phone, Transport::Udp, &req, &mut rng));
    }
    let challenge = per_sec("challenge", N, t.elapsed());

    // Refresh path: one nonce, nonce count 1..=N (requests parsed beforehand).
    let www = last.expect("a reply").headers[0].1.clone();
    let ch = parse_challenge(&www).expect("challenge");
    let reqs: Vec<Message> = (1..=N)
        .map(|nc| {
            let auth = authorize(
                &ch,
                &DigestRequest {
                    method: "REGISTER",
                    uri: "sip:127.0.0.1",
                    username: "1001",
                    password: "phone-pass-42",
                    cnonce: "c",
                    nc,
                    body: b"",
                },
            )
            .expect("authorize");
            Message::parse(text(nc + 1, Some(&auth)).as_bytes()).expect("parses")
        })
        .collect();
    let t = Instant::now();
    for r in &reqs {
        let reply = reg.handle(T0 + 1, phone, Transport::Udp, r, &mut rng);
        assert_eq!(reply.status, 200);
    }
    let refresh = per_sec("refresh", N, t.elapsed());

    // Blocked path: one wrong answer from 127.0.0.2 blocks it (max_auth_failures = 1).
    let cracker: SocketAddr = "127.0.0.2:40000".parse().expect("addr");
    let wrong = authorize(
        &ch,
        &DigestRequest {
            method: "REGISTER",
            uri: "sip:127.0.0.1",
            username: "1001",
            password: "guess",
            cnonce: "c",
            nc: 1,
            body: b"",
        },
    )
    .expect("authorize");
    let bad = Message::parse(text(1, Some(&wrong)).as_bytes()).expect("parses");
    assert_eq!(
        reg.handle(T0 + 2, cracker, Transport::Udp, &bad, &mut rng)
            .status,
        401
    );
    let t = Instant::now();
    for _ in 0..N {
        assert_eq!(
            reg.handle(T0 + 3, cracker, Transport::Udp, &bad, &mut rng)
                .status,
            403
        );
    }
    let blocked = per_sec("blocked", N, t.elapsed());

    println!(
        "ratio to parsing the REGISTER: challenge {:.2}x, refresh {:.2}x, blocked {:.2}x (time per request)",
        parse / challenge,
        parse / refresh,
        parse / blocked
    );
}
