//! Any bytes as a WWW-Authenticate value (and as an Authorization value): no panic, and
//! whatever challenge parses, our answer to it verifies with the same password and not
//! with another.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orderline_fuzz::digest::{
    authorize, parse_challenge, parse_credentials, verify, verify_with_body, DigestRequest,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_credentials(text);
    let _ = verify(text, "INVITE", "pw", "realm", "nonce");

    let Ok(ch) = parse_challenge(text) else {
        return;
    };
    let req = DigestRequest {
        method: "INVITE",
        uri: "sip:+15551234567@198.51.100.1:5060",
        username: "orderline",
        password: "s3cret\"pw\\",
        cnonce: "0a4f113b",
        nc: 1,
        body: b"v=0\r\n",
    };
    let Ok(header) = authorize(&ch, &req) else {
        return;
    };
    assert!(
        !header.contains("s3cret"),
        "password leaked into the header"
    );
    assert!(
        !header.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0),
        "control character in header"
    );
    let ok = verify_with_body(
        &header,
        req.method,
        req.password,
        &ch.realm,
        &ch.nonce,
        req.body,
    );
    assert_eq!(ok, Ok(true), "our answer does not verify: {header}");
    let bad = verify_with_body(&header, req.method, "other", &ch.realm, &ch.nonce, req.body);
    assert_eq!(bad, Ok(false));
});
