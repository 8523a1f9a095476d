//! SRTP and SRTCP with AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4, §3.4; the
//! SDES crypto suite of RFC 4568 §6.2.1), sans-IO.
//!
//! A [`SrtpContext`] holds one direction's session keys, derived once from
//! the master key and salt (§4.3), and protects or unprotects packets in
//! place in the caller's buffer: the media path stays allocation-free (the
//! counting-allocator test covers it). Randomness (the master keys) comes
//! from the caller; nothing here reads a clock or the OS.

mod cipher;
mod context;

pub use context::{SrtpContext, SrtpError, AUTH_TAG_LEN, SRTCP_TRAILER_LEN};

/// Master key length of AES_CM_128 (bytes).
pub const MASTER_KEY_LEN: usize = 16;
/// Master salt length (bytes, 112 bits).
pub const MASTER_SALT_LEN: usize = 14;

/// One direction's master key and salt (RFC 4568 §6.1: the `inline:` key
/// parameter is their concatenation, base64). `Copy`, so it rides in the
/// media layer's `Copy` parameters; the derived session keys in a
/// [`SrtpContext`] are wiped on drop (the AES key schedule), these copies
/// only by an explicit `zeroize()`.
#[derive(Clone, Copy, PartialEq, Eq, zeroize::Zeroize)]
pub struct MasterKey {
    pub key: [u8; MASTER_KEY_LEN],
    pub salt: [u8; MASTER_SALT_LEN],
}

impl MasterKey {
    /// From the 30 octets of an `inline:` key (key, then salt).
    pub fn from_bytes(b: &[u8]) -> Option<MasterKey> {
        if b.len() != MASTER_KEY_LEN + MASTER_SALT_LEN {
            return None;
        }
        let mut m = MasterKey {
            key: [0; MASTER_KEY_LEN],
            salt: [0; MASTER_SALT_LEN],
        };
        m.key.copy_from_slice(&b[..MASTER_KEY_LEN]);
        m.salt.copy_from_slice(&b[MASTER_KEY_LEN..]);
        Some(m)
    }

    /// The 30 octets of an `inline:` key.
    pub fn to_bytes(&self) -> [u8; MASTER_KEY_LEN + MASTER_SALT_LEN] {
        let mut out = [0u8; MASTER_KEY_LEN + MASTER_SALT_LEN];
        out[..MASTER_KEY_LEN].copy_from_slice(&self.key);
        out[MASTER_KEY_LEN..].copy_from_slice(&self.salt);
        out
    }
}

/// Never print key material.
impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[cfg(test)]
mod sans_io {
    /// The manifest keeps any runtime out; this keeps the clock and the OS's
    /// randomness out too: keys are handed in.
    #[test]
    fn reads_no_clock_and_draws_no_randomness() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for name in ["lib.rs", "cipher.rs", "context.rs"] {
            let src = std::fs::read_to_string(dir.join(name)).expect("readable source");
            let code = src.split("#[cfg(test)]").next().unwrap_or(&src);
            for banned in [
                "Instant::now",
                "SystemTime",
                "thread_rng",
                "OsRng",
                "getrandom",
            ] {
                assert!(!code.contains(banned), "{name} uses {banned}");
            }
        }
    }
}
