//! SDES: SRTP keys in SDP (RFC 4568), the one suite we speak,
//! AES_CM_128_HMAC_SHA1_80 (§6.2.1), `inline:` keys without MKI.
//!
//! Keys never appear in `Debug` output; the SDP bodies that carry them are
//! kept out of logs by the SIP layer's loggable filter.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::syntax::Attr;

/// The crypto suite we offer and accept (RFC 4568 §6.2.1).
pub const SUITE: &str = "AES_CM_128_HMAC_SHA1_80";
/// Master key (16) and salt (14) octets of the suite.
pub const KEY_LEN: usize = 30;

/// One direction's SRTP master key and salt, as `inline:` carries it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SdesKey(pub [u8; KEY_LEN]);

impl std::fmt::Debug for SdesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SdesKey(<redacted>)")
    }
}

/// Whether and how our SDP asks for SRTP (`srtp = "optional" | "required"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesOffer {
    /// Our key: what we protect with, and what we put in `a=crypto`.
    pub key: SdesKey,
    /// `RTP/SAVP` and nothing else (RFC 4568 §7.1.1), or best effort: `RTP/AVP`
    /// with `a=crypto`, so a peer without SRTP still talks plain RTP.
    pub required: bool,
}

/// The peer's crypto line we take: its tag (echoed in our answer, §7.1.2)
/// and its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PeerCrypto {
    pub(super) tag: u32,
    pub(super) key: SdesKey,
}

/// `a=crypto:<tag> AES_CM_128_HMAC_SHA1_80 inline:<key>`.
pub(super) fn crypto_line(tag: u32, key: &SdesKey) -> String {
    format!(
        "a=crypto:{tag} {SUITE} inline:{}\r\n",
        STANDARD.encode(key.0)
    )
}

/// The first `a=crypto` of the section we can use (RFC 4568 §7.1.2: the
/// answerer takes one): our suite, one `inline:` key of 30 octets, an
/// optional lifetime, no MKI, no session parameters. Others are skipped.
pub(super) fn pick(attrs: &[Attr<'_>]) -> Option<PeerCrypto> {
    attrs
        .iter()
        .filter(|a| a.name == "crypto")
        .find_map(|a| parse(a.value?))
}

fn parse(value: &str) -> Option<PeerCrypto> {
    let mut parts = value.split_ascii_whitespace();
    let tag: u32 = parts.next()?.parse().ok()?;
    if tag > 999_999_999 || parts.next()? != SUITE {
        return None;
    }
    let key_params = parts.next()?;
    if parts.next().is_some() {
        return None; // session parameters (KDR, UNENCRYPTED_SRTP, …): not ours
    }
    // One key (`;` would list several, each with an MKI).
    let inline = key_params.strip_prefix("inline:")?;
    if inline.contains(';') {
        return None;
    }
    let mut fields = inline.split('|');
    let b64 = fields.next()?;
    for f in fields {
        if f.contains(':') {
            return None; // MKI:length — packets would carry an MKI we do not parse
        }
    }
    let raw = STANDARD.decode(b64).ok()?;
    let key: [u8; KEY_LEN] = raw.try_into().ok()?;
    Some(PeerCrypto {
        tag,
        key: SdesKey(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(v: &str) -> Attr<'_> {
        Attr {
            line: 1,
            name: "crypto",
            value: Some(v),
        }
    }

    #[test]
    fn baresips_line_is_taken_and_others_skipped() {
        let k = "inline:DPpbnTtgwnpGAtReGMXAinosOQUPQfpdAuu0iKw5";
        let got = pick(&[attr(&format!("1 {SUITE} {k}"))]).expect("usable");
        assert_eq!(got.tag, 1);
        assert_eq!(
            crypto_line(1, &got.key),
            format!("a=crypto:1 {SUITE} {k}\r\n")
        );
        for bad in [
            format!("1 AES_CM_128_HMAC_SHA1_32 {k}"),
            format!("1 {SUITE} {k}|2^20|1:4"),
            format!("1 {SUITE} {k} KDR=1"),
            format!("x {SUITE} {k}"),
            format!("1 {SUITE} inline:AAAA"),
            format!("1 {SUITE}"),
        ] {
            assert_eq!(pick(&[attr(&bad)]), None, "{bad}");
        }
        // A lifetime alone is fine; the first usable line wins.
        let second = format!("7 {SUITE} {k}|2^31");
        let two = [attr("1 AEAD_AES_128_GCM inline:AAAA"), attr(&second)];
        assert_eq!(pick(&two).map(|c| c.tag), Some(7));
        assert_eq!(format!("{:?}", got.key), "SdesKey(<redacted>)");
    }
}
