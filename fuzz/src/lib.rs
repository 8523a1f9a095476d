//! The parsers under fuzzing, compiled from the main crate's own source files.
//!
//! They are included by path instead of depending on the `orderline` crate so that a fuzz
//! build instruments a handful of small crates rather than tokio, clap and everything else
//! the daemon links (minutes of sanitizer builds on CI). The price: these files must stay
//! self-contained (no `crate::` paths outside their tests); if one stops being so, this
//! build fails loudly and `fuzz/run.sh` exits non-zero.

#[path = "../../src/sip/digest.rs"]
pub mod digest;
#[path = "../../src/sip/sdp.rs"]
pub mod sdp;

// The SIP message layer (branch `sip`): framing, strict parser, printer and the
// UAS front-door checks. Included at the root so their `super::` paths resolve.
#[path = "../../src/sip/error.rs"]
pub mod error;
#[path = "../../src/sip/header.rs"]
pub mod header;
#[path = "../../src/sip/message.rs"]
pub mod message;
#[path = "../../src/sip/uri.rs"]
pub mod uri;
#[path = "../../src/sip/validate.rs"]
pub mod validate;
