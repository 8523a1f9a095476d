//! The registrar's server side (RFC 3261 §10.3, digest §22): any bytes that
//! parse as a request go to `Registrar::handle` from a few sources, with the
//! clock moving. No panic; every answer is a final status; 200 never comes
//! without an Authorization header (nothing registers unchallenged), and
//! never for a request that is not REGISTER.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orderline_sip::message::Message;
use orderline_sip::registrar::{Account, Registrar, RegistrarConfig};
use orderline_sip::Transport;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::parse(data) else {
        return;
    };
    let cfg = RegistrarConfig::default();
    let accounts = vec![Account::from_password("ayesha", "1001", &cfg.domain, "phone-pass-7f3a9c")];
    let mut reg = Registrar::new(cfg, accounts, [7; 32]);
    let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(data.len() as u32));
    let mut now = 1_800_000_000_000u64;
    for port in [5070u16, 5071, 5070] {
        let source = std::net::SocketAddr::from(([127, 0, 0, 2], port));
        let reply = reg.handle(now, source, Transport::Udp, &msg, &mut rng);
        assert!((200..=699).contains(&reply.status), "{}", reply.status);
        if reply.status == 200 {
            assert_eq!(msg.method().map(|m| m.as_str()), Some("REGISTER"));
            assert!(msg.header("Authorization").is_some(), "registered without a digest");
        }
        now += 61_000;
        reg.expire(now);
        while reg.poll_change().is_some() {}
    }
});
