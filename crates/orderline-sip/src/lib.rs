//! orderline's SIP core: strict and sans-IO. See `docs/decisions.md` for why
//! it is our own and not rsipstack or ezk.
//!
//! Layering (RFC 3261 §5): [`message`] parses and prints (§7, §20, §25),
//! [`validate`] is the UAS front door (§8.2, RFC 4475), [`transaction`] holds
//! the four §17 state machines, [`endpoint`] is the transaction user: dialogs
//! (§12–§15) and calls, driven by `(Instant, input)` like str0m/quinn-proto.
//!
//! This crate's manifest has no async runtime and no sockets: octets and
//! instants come in, octets and events go out, and the RNG that makes
//! Call-IDs, tags and branches is seeded from [`EndpointConfig::seed`]. The
//! tokio driver that owns the sockets is the root crate's `sip::driver`.

pub mod admission;
mod auth;
pub mod dialog;
pub mod digest;
pub mod endpoint;
pub mod error;
pub mod header;
pub mod health;
pub mod info;
pub mod locate;
pub mod message;
mod refresh;
pub mod registrar;
pub mod sdp;
pub mod session_timer;
pub mod stream;
mod timed;
pub mod transaction;
mod types;
mod uac;
mod uas;
pub mod uri;
pub mod validate;

pub use endpoint::{
    CallRef, Credentials, Endpoint, EndpointConfig, IncomingCall, Input, OutboundCall, SipEvent,
    Transmit, Transport,
};
pub use error::{ParseError, SipError};
pub use message::{Framing, Message, Method, RawMessage, StartLine};
pub use uas::InboundRequest;
pub use uri::{SipUri, Uri};

#[cfg(test)]
mod sans_io {
    /// The manifest keeps tokio out; this keeps the clock and the OS's
    /// randomness out too: time, octets and the RNG seed are passed in.
    #[test]
    fn core_modules_read_no_clock_and_draw_no_os_randomness() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("readable src dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(
            files.len() >= 15,
            "expected the core's sources, found {}",
            files.len()
        );
        for path in files {
            // Unit tests may take `Instant::now()` as their simulated start;
            // a file of tests only (`tests.rs`) has nothing to check.
            if path.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            let src = std::fs::read_to_string(&path).expect("readable source");
            let code = src.split("#[cfg(test)]").next().unwrap_or(&src);
            for banned in [
                "Instant::now",
                "SystemTime",
                "std::net::UdpSocket",
                "thread_rng",
                "rand::random",
                "OsRng",
            ] {
                assert!(!code.contains(banned), "{} uses {banned}", path.display());
            }
        }
    }
}
