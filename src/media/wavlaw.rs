//! Reading G.711-encoded WAV files (format tags 7 = µ-law, 6 = A-law).
//!
//! The stock prompts are stored this way: 8 kHz, 8 bits per sample, half
//! the size of 16-bit PCM, and exactly the bytes a PCMU call sends (decoding
//! and re-encoding a µ-law value is lossless). `hound` reads only PCM and
//! float, so this small RIFF walker covers the G.711 case; PCM files still
//! go through [`crate::audio::read_wav_8k`] (which also resamples).

use std::path::Path;

use super::g711::Law;

/// Why a G.711 WAV could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WavLawError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a RIFF/WAVE file or a chunk runs past the end")]
    Malformed { path: String },
    #[error(
        "{path}: G.711 WAV must be mono 8000 Hz 8-bit, found {channels} ch {rate} Hz {bits}-bit"
    )]
    Format {
        path: String,
        channels: u16,
        rate: u32,
        bits: u16,
    },
}

/// Decode `path` if it is a µ-law or A-law WAV; `Ok(None)` if it is some
/// other WAV (or not a WAV at all: the PCM reader then reports why).
pub fn load(path: &Path) -> Result<Option<Vec<i16>>, WavLawError> {
    let name = || path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| WavLawError::Io {
        path: name(),
        source,
    })?;
    let Some(fmt) = fmt_chunk(&bytes) else {
        return Ok(None);
    };
    let Some(law) = law_of(fmt.tag) else {
        return Ok(None);
    };
    if fmt.channels != 1 || fmt.rate != 8000 || fmt.bits != 8 {
        return Err(WavLawError::Format {
            path: name(),
            channels: fmt.channels,
            rate: fmt.rate,
            bits: fmt.bits,
        });
    }
    let data = chunk(&bytes, b"data").ok_or_else(|| WavLawError::Malformed { path: name() })?;
    let mut out = vec![0i16; data.len()];
    law.decode(data, &mut out);
    Ok(Some(out))
}

struct Fmt {
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
}

fn law_of(tag: u16) -> Option<Law> {
    match tag {
        7 => Some(Law::Mu),
        6 => Some(Law::A),
        _ => None,
    }
}

fn fmt_chunk(bytes: &[u8]) -> Option<Fmt> {
    let f = chunk(bytes, b"fmt ")?;
    if f.len() < 16 {
        return None;
    }
    let u16_at = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
    Some(Fmt {
        tag: u16_at(0),
        channels: u16_at(2),
        rate: u32::from_le_bytes([f[4], f[5], f[6], f[7]]),
        bits: u16_at(14),
    })
}

/// Body of the first chunk with this id (RIFF chunks are word aligned).
fn chunk<'a>(bytes: &'a [u8], id: &[u8; 4]) -> Option<&'a [u8]> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        let body = bytes.get(pos + 8..pos + 8 + len)?;
        if &bytes[pos..pos + 4] == id {
            return Some(body);
        }
        pos += 8 + len + (len & 1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut v = b"RIFF\0\0\0\0WAVE".to_vec();
        v.extend_from_slice(b"fmt \x12\0\0\0");
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * channels as u32).to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v.extend_from_slice(&[0, 0]); // cbSize
        v.extend_from_slice(b"fact\x04\0\0\0\x03\0\0\0");
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_ulaw_and_alaw() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u.wav");
        std::fs::write(&p, wav(7, 1, 8000, 8, &[0xFF, 0x80, 0x00])).unwrap();
        assert_eq!(load(&p).unwrap(), Some(vec![0, 32124, -32124]));
        std::fs::write(&p, wav(6, 1, 8000, 8, &[0xD5])).unwrap();
        assert_eq!(load(&p).unwrap(), Some(vec![8]));
    }

    #[test]
    fn rejects_wrong_format_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.wav");
        std::fs::write(&p, wav(7, 2, 8000, 8, &[0; 4])).unwrap();
        assert!(matches!(
            load(&p),
            Err(WavLawError::Format { channels: 2, .. })
        ));
        let mut t = wav(7, 1, 8000, 8, &[0; 40]);
        t.truncate(t.len() - 10);
        std::fs::write(&p, t).unwrap();
        assert!(matches!(load(&p), Err(WavLawError::Malformed { .. })));
        std::fs::write(&p, wav(1, 1, 8000, 16, &[0; 4])).unwrap();
        assert_eq!(load(&p).unwrap(), None);
        std::fs::write(&p, b"junk").unwrap();
        assert_eq!(load(&p).unwrap(), None);
    }
}
