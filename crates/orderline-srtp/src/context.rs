//! One direction's SRTP/SRTCP crypto context (RFC 3711 §3.2): session keys,
//! per-SSRC rollover counters and replay windows, in fixed-size state.

use aes::cipher::KeyInit;
use aes::Aes128;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::cipher::{aes_cm_xor, derive};
use crate::{MasterKey, MASTER_SALT_LEN};

/// HMAC-SHA1 truncated to 80 bits (RFC 3711 §4.2, AES_CM_128_HMAC_SHA1_80).
pub const AUTH_TAG_LEN: usize = 10;
/// What SRTCP appends: E flag + 31-bit index, then the tag (§3.4).
pub const SRTCP_TRAILER_LEN: usize = 4 + AUTH_TAG_LEN;
/// Replay window (§3.3.2: at least 64).
const WINDOW: u64 = 64;
/// SSRCs tracked per direction: a peer's stream plus the few a re-INVITE
/// or a PBX switch brings; beyond that the least recently used is reused.
const STREAMS: usize = 4;

/// Why a packet was not protected or not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    #[error("packet too short or malformed")]
    Malformed,
    #[error("no room in the buffer for the authentication tag")]
    NoRoom,
    #[error("authentication tag mismatch")]
    Auth,
    #[error("replayed or too old packet")]
    Replay,
}

type HmacSha1 = Hmac<Sha1>;

/// Session keys for one of SRTP or SRTCP (§4.3.1 labels 0–2 or 3–5).
struct SessionKeys {
    cipher: Aes128,
    auth: HmacSha1,
    salt: [u8; MASTER_SALT_LEN],
}

impl SessionKeys {
    fn derive(master: &MasterKey, base_label: u8) -> SessionKeys {
        let mut key = [0u8; 16];
        let mut auth = [0u8; 20];
        let mut salt = [0u8; MASTER_SALT_LEN];
        derive(&master.key, &master.salt, base_label, &mut key);
        derive(&master.key, &master.salt, base_label + 1, &mut auth);
        derive(&master.key, &master.salt, base_label + 2, &mut salt);
        let keys = SessionKeys {
            cipher: Aes128::new(&key.into()),
            auth: <HmacSha1 as Mac>::new_from_slice(&auth).expect("HMAC takes any key length"),
            salt,
        };
        zeroize::Zeroize::zeroize(&mut key);
        zeroize::Zeroize::zeroize(&mut auth);
        keys
    }

    /// IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16) (§4.1.1).
    fn iv(&self, ssrc: u32, index: u64) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[..MASTER_SALT_LEN].copy_from_slice(&self.salt);
        for (d, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *d ^= s;
        }
        for (d, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
            *d ^= s;
        }
        iv
    }

    /// The 80-bit tag over `parts`, concatenated.
    fn tag(&self, parts: &[&[u8]]) -> [u8; AUTH_TAG_LEN] {
        let mut mac = self.auth.clone();
        for p in parts {
            mac.update(p);
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; AUTH_TAG_LEN];
        out.copy_from_slice(&full[..AUTH_TAG_LEN]);
        out
    }
}

/// Replay window over 48-bit (SRTP) or 31-bit (SRTCP) indices.
#[derive(Debug, Clone, Copy, Default)]
struct Replay {
    top: u64,
    bits: u64,
    started: bool,
}

impl Replay {
    fn check(&self, index: u64) -> Result<(), SrtpError> {
        if !self.started || index > self.top {
            return Ok(());
        }
        let delta = self.top - index;
        if delta >= WINDOW || self.bits & (1 << delta) != 0 {
            return Err(SrtpError::Replay);
        }
        Ok(())
    }

    fn accept(&mut self, index: u64) {
        if !self.started {
            *self = Replay {
                top: index,
                bits: 1,
                started: true,
            };
        } else if index > self.top {
            let shift = index - self.top;
            self.bits = if shift >= WINDOW {
                0
            } else {
                self.bits << shift
            } | 1;
            self.top = index;
        } else {
            self.bits |= 1 << (self.top - index);
        }
    }
}

/// Per-SSRC state: rollover counter, highest sequence number, replay.
#[derive(Debug, Clone, Copy, Default)]
struct Stream {
    ssrc: u32,
    used: bool,
    roc: u32,
    s_l: u16,
    replay: Replay,
    /// Recency, for reuse when all slots are taken.
    last_use: u64,
}

impl Stream {
    /// The index a received `seq` most likely has (RFC 3711 Appendix A).
    fn estimate(&self, seq: u16) -> (u32, u64) {
        if !self.replay.started {
            return (self.roc, u64::from(seq));
        }
        let v = if self.s_l < 0x8000 {
            if u32::from(seq) > u32::from(self.s_l) + 0x8000 {
                self.roc.wrapping_sub(1)
            } else {
                self.roc
            }
        } else if u32::from(self.s_l) - 0x8000 > u32::from(seq) {
            self.roc.wrapping_add(1)
        } else {
            self.roc
        };
        (v, (u64::from(v) << 16) | u64::from(seq))
    }
}

/// One direction of one SRTP session: ours to protect what we send, or
/// the peer's to unprotect what we receive (RFC 4568 gives each its key).
pub struct SrtpContext {
    rtp: SessionKeys,
    rtcp: SessionKeys,
    streams: [Stream; STREAMS],
    uses: u64,
    /// Next SRTCP index we send (31 bits, §3.4).
    srtcp_index: u32,
    srtcp_replay: Replay,
}

impl std::fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SrtpContext(<keys redacted>)")
    }
}

/// Length of the RTP header (fixed part, CSRCs, extension) if `pkt` holds one.
fn rtp_header_len(pkt: &[u8]) -> Option<usize> {
    if pkt.len() < 12 || pkt[0] >> 6 != 2 {
        return None;
    }
    let mut n = 12 + 4 * usize::from(pkt[0] & 0x0f);
    if pkt[0] & 0x10 != 0 {
        let ext = pkt.get(n + 2..n + 4)?;
        n += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    (n <= pkt.len()).then_some(n)
}

impl SrtpContext {
    /// Derive the session keys (key derivation rate 0, §4.3).
    pub fn new(master: &MasterKey) -> SrtpContext {
        SrtpContext {
            rtp: SessionKeys::derive(master, 0),
            rtcp: SessionKeys::derive(master, 3),
            streams: [Stream::default(); STREAMS],
            uses: 0,
            srtcp_index: 0,
            srtcp_replay: Replay::default(),
        }
    }

    /// The slot for `ssrc`: its own, a free one, or the least recently used.
    fn slot(&mut self, ssrc: u32) -> usize {
        if let Some(i) = self.streams.iter().position(|s| s.used && s.ssrc == ssrc) {
            return i;
        }
        let i = self
            .streams
            .iter()
            .position(|s| !s.used)
            .unwrap_or_else(|| {
                (0..STREAMS)
                    .min_by_key(|&i| self.streams[i].last_use)
                    .unwrap_or(0)
            });
        self.streams[i] = Stream {
            ssrc,
            used: true,
            ..Stream::default()
        };
        i
    }

    /// Protect the RTP packet in `buf[..len]` in place: encrypt its payload
    /// and append the tag. Returns the SRTP length (`len + 10`); `buf` must
    /// have that room.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let pkt = buf.get(..len).ok_or(SrtpError::Malformed)?;
        let hlen = rtp_header_len(pkt).ok_or(SrtpError::Malformed)?;
        if buf.len() < len + AUTH_TAG_LEN {
            return Err(SrtpError::NoRoom);
        }
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let i = self.slot(ssrc);
        self.uses += 1;
        let s = &mut self.streams[i];
        s.last_use = self.uses;
        // Our own sequence: a wrap past 0xFFFF starts the next rollover.
        if s.replay.started && seq < s.s_l && s.s_l - seq > 0x8000 {
            s.roc = s.roc.wrapping_add(1);
        }
        s.s_l = seq;
        s.replay.started = true;
        let roc = s.roc;
        let index = (u64::from(roc) << 16) | u64::from(seq);
        let iv = self.rtp.iv(ssrc, index);
        aes_cm_xor(&self.rtp.cipher, &iv, &mut buf[hlen..len]);
        let tag = self.rtp.tag(&[&buf[..len], &roc.to_be_bytes()]);
        buf[len..len + AUTH_TAG_LEN].copy_from_slice(&tag);
        Ok(len + AUTH_TAG_LEN)
    }

    /// Check and decrypt the SRTP packet `buf` in place. Returns the RTP
    /// length (the tag dropped). A failed check changes no state.
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let len = buf
            .len()
            .checked_sub(AUTH_TAG_LEN)
            .ok_or(SrtpError::Malformed)?;
        let hlen = rtp_header_len(&buf[..len]).ok_or(SrtpError::Malformed)?;
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let known = self.streams.iter().position(|s| s.used && s.ssrc == ssrc);
        let stream = known.map_or_else(Stream::default, |i| self.streams[i]);
        let (v, index) = stream.estimate(seq);
        stream.replay.check(index)?;
        let tag = self.rtp.tag(&[&buf[..len], &v.to_be_bytes()]);
        if !bool::from(tag.ct_eq(&buf[len..])) {
            return Err(SrtpError::Auth);
        }
        let iv = self.rtp.iv(ssrc, index);
        aes_cm_xor(&self.rtp.cipher, &iv, &mut buf[hlen..len]);
        let i = known.unwrap_or_else(|| self.slot(ssrc));
        self.uses += 1;
        let s = &mut self.streams[i];
        s.last_use = self.uses;
        // Appendix A: a packet of the next rollover moves ROC and s_l on;
        // a later one of this rollover moves s_l.
        if !s.replay.started || v == s.roc.wrapping_add(1) {
            s.roc = v;
            s.s_l = seq;
        } else if v == s.roc && seq > s.s_l {
            s.s_l = seq;
        }
        s.replay.accept(index);
        Ok(len)
    }

    /// Protect the RTCP compound packet in `buf[..len]` in place: encrypt
    /// after the first 8 octets, append E‖index and the tag (§3.4).
    /// Returns `len + 14`.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        if len < 8 || len > buf.len() {
            return Err(SrtpError::Malformed);
        }
        if buf.len() < len + SRTCP_TRAILER_LEN {
            return Err(SrtpError::NoRoom);
        }
        let ssrc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let index = self.srtcp_index & 0x7fff_ffff;
        self.srtcp_index = (index + 1) & 0x7fff_ffff;
        let iv = self.rtcp.iv(ssrc, u64::from(index));
        aes_cm_xor(&self.rtcp.cipher, &iv, &mut buf[8..len]);
        buf[len..len + 4].copy_from_slice(&(0x8000_0000 | index).to_be_bytes());
        let tag = self.rtcp.tag(&[&buf[..len + 4]]);
        buf[len + 4..len + SRTCP_TRAILER_LEN].copy_from_slice(&tag);
        Ok(len + SRTCP_TRAILER_LEN)
    }

    /// Check and decrypt the SRTCP packet `buf` in place; returns the RTCP
    /// length. A failed check changes no state.
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        if buf.len() < 8 + SRTCP_TRAILER_LEN {
            return Err(SrtpError::Malformed);
        }
        let tag_at = buf.len() - AUTH_TAG_LEN;
        let len = tag_at - 4;
        let word = u32::from_be_bytes([buf[len], buf[len + 1], buf[len + 2], buf[len + 3]]);
        let index = u64::from(word & 0x7fff_ffff);
        self.srtcp_replay.check(index)?;
        let tag = self.rtcp.tag(&[&buf[..tag_at]]);
        if !bool::from(tag.ct_eq(&buf[tag_at..])) {
            return Err(SrtpError::Auth);
        }
        if word & 0x8000_0000 != 0 {
            let ssrc = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
            let iv = self.rtcp.iv(ssrc, index);
            aes_cm_xor(&self.rtcp.cipher, &iv, &mut buf[8..len]);
        }
        self.srtcp_replay.accept(index);
        Ok(len)
    }
}

#[cfg(test)]
mod tests;
