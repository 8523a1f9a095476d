//! Stateless digest nonces (RFC 7616 §3.3, §5.5): `hex(issued_ms) hex(salt)
//! hex(HMAC-SHA256(secret, both)[..16])`. The registrar keeps no table of
//! issued nonces: a nonce proves itself by its MAC, and its age is read from
//! it, so an expired one is told apart from a forged one (`stale=true` only
//! for the former, RFC 7616 §3.3). The secret is per process: after a restart
//! old nonces fail the MAC and the phone is simply challenged again.
//!
//! Replay (RFC 7616 §5.5): the highest nonce count seen per nonce is kept
//! for the nonce's lifetime, in a table bounded by [`MAX_TRACKED`].

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::UnixMs;

/// Nonces whose nonce count is tracked at once; past it, expired entries are
/// dropped, and if none is expired the oldest half goes (their phones then
/// get `stale=true` and a fresh nonce, never a wrong-password answer).
pub const MAX_TRACKED: usize = 50_000;

const MAC_LEN: usize = 16;

/// What a presented nonce is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    /// Ours and within its lifetime.
    Fresh,
    /// Ours but older than the lifetime.
    Expired,
    /// Not ours (bad MAC or format).
    Forged,
}

/// Issues and checks nonces; remembers nonce counts.
pub struct Nonces {
    secret: [u8; 32],
    lifetime_ms: u64,
    /// nonce → (highest nc seen, issued at).
    counts: HashMap<String, (u32, UnixMs)>,
}

impl Nonces {
    pub fn new(secret: [u8; 32], lifetime_ms: u64) -> Nonces {
        Nonces {
            secret,
            lifetime_ms: lifetime_ms.max(1),
            counts: HashMap::new(),
        }
    }

    fn mac(&self, payload: &str) -> [u8; MAC_LEN] {
        // HMAC takes keys of any length: `new_from_slice` cannot fail for HMAC.
        let mut m = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts any key length"),
        };
        m.update(payload.as_bytes());
        let full = m.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// A fresh nonce issued at `now`, salted with the caller's random bytes.
    pub fn issue(&self, now: UnixMs, salt: [u8; 8]) -> String {
        let payload = format!("{now:016x}{}", hex(&salt));
        let mac = self.mac(&payload);
        format!("{payload}{}", hex(&mac))
    }

    /// Check a nonce we may have issued, as of `now`.
    pub fn check(&self, nonce: &str, now: UnixMs) -> NonceState {
        if nonce.len() != 32 + 2 * MAC_LEN || !nonce.is_ascii() {
            return NonceState::Forged;
        }
        let (payload, mac_hex) = nonce.split_at(32);
        let Some(given) = unhex(mac_hex) else {
            return NonceState::Forged;
        };
        if !bool::from(given.as_slice().ct_eq(&self.mac(payload))) {
            return NonceState::Forged;
        }
        let Ok(issued) = u64::from_str_radix(&payload[..16], 16) else {
            return NonceState::Forged;
        };
        if now.saturating_sub(issued) > self.lifetime_ms {
            NonceState::Expired
        } else {
            NonceState::Fresh
        }
    }

    /// Record nonce count `nc` (8 hex digits) for a fresh, verified nonce.
    /// `false` when it does not exceed the highest seen: a replay.
    pub fn accept_count(&mut self, nonce: &str, nc: &str, now: UnixMs) -> bool {
        let Ok(n) = u32::from_str_radix(nc, 16) else {
            return false;
        };
        if let Some((last, _)) = self.counts.get_mut(nonce) {
            if n <= *last {
                return false;
            }
            *last = n;
            return true;
        }
        if self.counts.len() >= MAX_TRACKED {
            self.prune(now);
        }
        self.counts.insert(nonce.to_string(), (n, now));
        true
    }

    fn prune(&mut self, now: UnixMs) {
        let life = self.lifetime_ms;
        self.counts
            .retain(|_, (_, seen)| now.saturating_sub(*seen) <= life);
        if self.counts.len() >= MAX_TRACKED {
            let mut ages: Vec<UnixMs> = self.counts.values().map(|(_, t)| *t).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            self.counts.retain(|_, (_, seen)| *seen > cut);
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_prove_themselves_and_age() {
        let n = Nonces::new([7; 32], 1_000);
        let nonce = n.issue(5_000, [1; 8]);
        assert_eq!(n.check(&nonce, 5_500), NonceState::Fresh);
        assert_eq!(n.check(&nonce, 6_001), NonceState::Expired);
        let mut forged = nonce.clone().into_bytes();
        forged[3] = if forged[3] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(forged).expect("ascii");
        assert_eq!(n.check(&forged, 5_500), NonceState::Forged);
        let other = Nonces::new([8; 32], 1_000);
        assert_eq!(other.check(&nonce, 5_500), NonceState::Forged);
        assert_eq!(n.check("abc", 5_500), NonceState::Forged);
    }

    #[test]
    fn nonce_counts_must_rise() {
        let mut n = Nonces::new([7; 32], 1_000);
        let nonce = n.issue(0, [2; 8]);
        assert!(n.accept_count(&nonce, "00000001", 10));
        assert!(
            !n.accept_count(&nonce, "00000001", 11),
            "replayed nc accepted"
        );
        assert!(n.accept_count(&nonce, "00000002", 12));
        assert!(!n.accept_count(&nonce, "zz", 12));
    }
}
