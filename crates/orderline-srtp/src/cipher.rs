//! AES in counter mode as RFC 3711 §4.1.1 uses it, and the key derivation
//! of §4.3 built on it.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;

use crate::{MASTER_KEY_LEN, MASTER_SALT_LEN};

/// XOR `data` with the AES-CM keystream starting at counter block `iv`
/// (the low 16 bits of `iv` are the block counter, RFC 3711 §4.1.1).
pub(crate) fn aes_cm_xor(cipher: &Aes128, iv: &[u8; 16], data: &mut [u8]) {
    let mut counter = *iv;
    let base = u16::from_be_bytes([iv[14], iv[15]]);
    for (i, chunk) in data.chunks_mut(16).enumerate() {
        let n = base.wrapping_add(i as u16).to_be_bytes();
        counter[14] = n[0];
        counter[15] = n[1];
        let mut block = aes::Block::from(counter);
        cipher.encrypt_block(&mut block);
        for (d, k) in chunk.iter_mut().zip(block.iter()) {
            *d ^= k;
        }
    }
}

/// Key derivation (RFC 3711 §4.3.1 with key_derivation_rate 0): the
/// session key for `label` is AES-CM under the master key, with IV
/// `(master_salt XOR (label << 48)) * 2^16`, `out.len()` octets long.
pub(crate) fn derive(
    master_key: &[u8; MASTER_KEY_LEN],
    master_salt: &[u8; MASTER_SALT_LEN],
    label: u8,
    out: &mut [u8],
) {
    let cipher = Aes128::new(master_key.into());
    let mut iv = [0u8; 16];
    iv[..MASTER_SALT_LEN].copy_from_slice(master_salt);
    // key_id = label || r (r = 0): 56 bits, aligned right of the 112-bit salt.
    iv[7] ^= label;
    out.fill(0);
    aes_cm_xor(&cipher, &iv, out);
}
