//! Any bytes as a SIP message, datagram and stream framing: no panic; what
//! parses prints to something that parses again and prints the same (a fixed
//! point: no `%`-escape corruption, no lost parameter); what fails earns a
//! status and, for requests, an error response that is itself framable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orderline_sip::message::{error_response_from_raw, Framing, Message, RawMessage};
use orderline_sip::validate;

fuzz_target!(|data: &[u8]| {
    for framing in [Framing::Datagram, Framing::Stream] {
        let Ok((raw, used)) = RawMessage::parse(data, framing) else {
            continue;
        };
        assert!(used <= data.len());
        match Message::from_raw(&raw) {
            Ok(m) => {
                let _ = validate::check_request(&m);
                let _ = validate::response_acceptable(&m);
                let printed = m.to_bytes();
                let again = Message::parse(&printed).expect("what we print parses");
                assert_eq!(again.to_bytes(), printed, "printing is a fixed point");
            }
            Err(e) => {
                let status = e.status();
                assert!((400..=599).contains(&status));
                let reason = e.reason_phrase();
                assert!(!reason.contains(['\r', '\n']));
                if let Some(resp) = error_response_from_raw(&raw, status, &reason, "fz") {
                    RawMessage::parse(&resp, Framing::Datagram)
                        .expect("error response is framable");
                }
            }
        }
    }
});
