//! RFC 3711 Appendix B test vectors, libsrtp's reference packet, and the
//! rules around them (rollover, replay, tampering).

use super::*;
use crate::cipher::{aes_cm_xor, derive};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn master(key: &str, salt: &str) -> MasterKey {
    MasterKey::from_bytes(&[hex(key), hex(salt)].concat()).expect("30 octets")
}

/// B.2: the AES-CM keystream for a given session key and IV.
#[test]
fn appendix_b2_aes_counter_mode_keystream() {
    let key: [u8; 16] = hex("2B7E151628AED2A6ABF7158809CF4F3C")
        .try_into()
        .expect("16");
    let cipher = Aes128::new(&key.into());
    let iv: [u8; 16] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000")
        .try_into()
        .expect("16");
    let mut ks = [0u8; 48];
    aes_cm_xor(&cipher, &iv, &mut ks);
    assert_eq!(
        ks.to_vec(),
        hex("E03EAD0935C95E80E166B16DD92B4EB4
             D23513162B02D0F72A43A2FE4A5F97AB
             41E95B3BB0A2E8DD477901E4FCA894C0")
    );
    let mut iv_feff = iv;
    iv_feff[14] = 0xFE;
    iv_feff[15] = 0xFF;
    let mut ks = [0u8; 48];
    aes_cm_xor(&cipher, &iv_feff, &mut ks);
    assert_eq!(
        ks.to_vec(),
        hex("EC8CDF7398607CB0F2D21675EA9EA1E4
             362B7C3C6773516318A077D7FC5073AE
             6A2CC3787889374FBEB4C81B17BA6C44")
    );
}

/// B.3: session keys from a master key and salt.
#[test]
fn appendix_b3_key_derivation() {
    let key: [u8; 16] = hex("E1F97A0D3E018BE0D64FA32C06DE4139")
        .try_into()
        .expect("16");
    let salt: [u8; 14] = hex("0EC675AD498AFEEBB6960B3AABE6").try_into().expect("14");
    let mut cipher_key = [0u8; 16];
    derive(&key, &salt, 0, &mut cipher_key);
    assert_eq!(cipher_key.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
    let mut cipher_salt = [0u8; 14];
    derive(&key, &salt, 2, &mut cipher_salt);
    assert_eq!(cipher_salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
    let mut auth = [0u8; 20];
    derive(&key, &salt, 1, &mut auth);
    assert_eq!(
        auth.to_vec(),
        hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")
    );
}

const LIBSRTP_KEY: &str = "E1F97A0D3E018BE0D64FA32C06DE4139";
const LIBSRTP_SALT: &str = "0EC675AD498AFEEBB6960B3AABE6";

/// libsrtp's `srtp_validate` reference packet (AES_CM_128_HMAC_SHA1_80).
#[test]
fn libsrtp_reference_packet() {
    let m = master(LIBSRTP_KEY, LIBSRTP_SALT);
    let plain = hex("800F1234DECAFBADCAFEBABE ABABABABABABABABABABABABABABABAB");
    let expect =
        hex("800F1234DECAFBADCAFEBABE 4E55DC4CE79978D88CA4D215949D2402 B78D6ACC99EA179B8DBB");
    let mut buf = [0u8; 64];
    buf[..plain.len()].copy_from_slice(&plain);
    let n = SrtpContext::new(&m)
        .protect_rtp(&mut buf, plain.len())
        .expect("protect");
    assert_eq!(buf[..n].to_vec(), expect);
    let mut rx = SrtpContext::new(&m);
    let mut got = expect.clone();
    let n = rx.unprotect_rtp(&mut got).expect("unprotect");
    assert_eq!(got[..n].to_vec(), plain);
}

fn rtp(seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&1234u32.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn protect(tx: &mut SrtpContext, pkt: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 256];
    buf[..pkt.len()].copy_from_slice(pkt);
    let n = tx.protect_rtp(&mut buf, pkt.len()).expect("protect");
    buf[..n].to_vec()
}

#[test]
fn round_trip_across_a_rollover_with_tampering_and_replay_refused() {
    let m = master(LIBSRTP_KEY, LIBSRTP_SALT);
    let (mut tx, mut rx) = (SrtpContext::new(&m), SrtpContext::new(&m));
    let payload = [0x55u8; 160];
    for k in 0..40u32 {
        let seq = 0xFFEC_u16.wrapping_add(k as u16); // wraps after 20 packets
        let plain = rtp(seq, 0xCAFE, &payload);
        let mut s = protect(&mut tx, &plain);
        assert_ne!(s[12..12 + 160], payload[..], "payload encrypted");
        let n = rx.unprotect_rtp(&mut s).expect("unprotect");
        assert_eq!(&s[..n], &plain[..], "packet {k} (seq {seq})");
    }
    // ROC is 1 now: the next packet decrypts only with index 2^16 + seq.
    let plain = rtp(20, 0xCAFE, &payload);
    let good = protect(&mut tx, &plain);
    let mut flipped = good.clone();
    flipped[20] ^= 1;
    assert_eq!(rx.unprotect_rtp(&mut flipped), Err(SrtpError::Auth));
    let mut once = good.clone();
    rx.unprotect_rtp(&mut once).expect("first copy");
    let mut again = good.clone();
    assert_eq!(rx.unprotect_rtp(&mut again), Err(SrtpError::Replay));
    // Another key: refused.
    let other = master(
        "000102030405060708090A0B0C0D0E0F",
        "0EC675AD498AFEEBB6960B3AABE6",
    );
    let mut stranger = SrtpContext::new(&other);
    let mut s = protect(&mut stranger, &rtp(21, 0xCAFE, &payload));
    assert_eq!(rx.unprotect_rtp(&mut s), Err(SrtpError::Auth));
}

#[test]
fn late_packets_within_the_window_pass_once() {
    let m = master(LIBSRTP_KEY, LIBSRTP_SALT);
    let (mut tx, mut rx) = (SrtpContext::new(&m), SrtpContext::new(&m));
    let sent: Vec<Vec<u8>> = (100..200u16)
        .map(|s| protect(&mut tx, &rtp(s, 7, b"hi")))
        .collect();
    for p in sent.iter().skip(10) {
        rx.unprotect_rtp(&mut p.clone()).expect("in order");
    }
    // 90 packets later: seq 100..110 are beyond the 64-packet window.
    assert_eq!(
        rx.unprotect_rtp(&mut sent[0].clone()),
        Err(SrtpError::Replay)
    );
    let mut fresh = SrtpContext::new(&m);
    fresh.unprotect_rtp(&mut sent[50].clone()).expect("50");
    fresh
        .unprotect_rtp(&mut sent[45].clone())
        .expect("late 45 within the window");
    assert_eq!(
        fresh.unprotect_rtp(&mut sent[45].clone()),
        Err(SrtpError::Replay)
    );
}

#[test]
fn srtcp_round_trip_encrypts_after_the_ssrc_and_refuses_tampering() {
    let m = master(LIBSRTP_KEY, LIBSRTP_SALT);
    let (mut tx, mut rx) = (SrtpContext::new(&m), SrtpContext::new(&m));
    let plain = hex("81C8000BCAFEBABE ABABABABABABABABABABABABABABABAB ABABABABABABABAB");
    for k in 0..3u32 {
        let mut buf = [0u8; 128];
        buf[..plain.len()].copy_from_slice(&plain);
        let n = tx.protect_rtcp(&mut buf, plain.len()).expect("protect");
        assert_eq!(n, plain.len() + SRTCP_TRAILER_LEN);
        assert_eq!(buf[..8], plain[..8], "header and SSRC in the clear");
        assert_ne!(buf[8..plain.len()], plain[8..]);
        assert_eq!(
            buf[plain.len()..plain.len() + 4],
            (0x8000_0000u32 | k).to_be_bytes(),
            "E flag and index"
        );
        let mut bad = buf[..n].to_vec();
        bad[9] ^= 0x80;
        assert_eq!(rx.unprotect_rtcp(&mut bad), Err(SrtpError::Auth));
        let mut s = buf[..n].to_vec();
        let len = rx.unprotect_rtcp(&mut s).expect("unprotect");
        assert_eq!(&s[..len], &plain[..]);
        assert_eq!(
            rx.unprotect_rtcp(&mut buf[..n].to_vec()),
            Err(SrtpError::Replay)
        );
    }
}

#[test]
fn short_or_roomless_buffers_are_errors_not_panics() {
    let m = master(LIBSRTP_KEY, LIBSRTP_SALT);
    let mut c = SrtpContext::new(&m);
    let pkt = rtp(1, 1, b"abc");
    let mut tight = pkt.clone();
    assert_eq!(c.protect_rtp(&mut tight, pkt.len()), Err(SrtpError::NoRoom));
    for n in 0..22 {
        let mut junk = vec![0x80u8; n];
        assert!(c.unprotect_rtp(&mut junk).is_err());
        assert!(c.unprotect_rtcp(&mut junk).is_err());
    }
    let mut ext = vec![
        0x90u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0xFF, 0xFF,
    ];
    ext.extend_from_slice(&[0u8; 10]);
    assert_eq!(c.unprotect_rtp(&mut ext), Err(SrtpError::Malformed));
}
