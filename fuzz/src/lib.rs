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
