//! WAV file I/O at the edge: read any-rate mono 16-bit WAV as 8 kHz samples,
//! write 8 kHz mono WAV. Used by the prompt cache and `orderline dtmf decode`.
//!
//! Telephony audio (G.711, RFC 3551 §4.5.14) is 8 kHz; everything inside the
//! engine runs at that rate, so conversion happens once, here, at load time.

use std::f64::consts::PI;
use std::path::Path;

/// The one sample rate used inside the engine.
pub const RATE: u32 = 8000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    #[error("{path}: {source}")]
    Wav { path: String, source: hound::Error },
    #[error("{path}: expected mono audio, found {channels} channels")]
    NotMono { path: String, channels: u16 },
    #[error("{path}: expected 16-bit integer PCM, found {bits}-bit {format}")]
    NotPcm16 {
        path: String,
        bits: u16,
        format: &'static str,
    },
    #[error("{path}: sample rate {rate} Hz is not usable")]
    BadRate { path: String, rate: u32 },
}

/// Read a mono 16-bit WAV at any rate and return it at 8 kHz.
pub fn read_wav_8k(path: &Path) -> Result<Vec<i16>, AudioError> {
    let name = path.display().to_string();
    let reader = hound::WavReader::open(path).map_err(|source| AudioError::Wav {
        path: name.clone(),
        source,
    })?;
    let spec = reader.spec();
    if spec.channels != 1 {
        return Err(AudioError::NotMono {
            path: name,
            channels: spec.channels,
        });
    }
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(AudioError::NotPcm16 {
            path: name,
            bits: spec.bits_per_sample,
            format: match spec.sample_format {
                hound::SampleFormat::Int => "integer",
                hound::SampleFormat::Float => "float",
            },
        });
    }
    if spec.sample_rate < 1000 || spec.sample_rate > 384_000 {
        return Err(AudioError::BadRate {
            path: name,
            rate: spec.sample_rate,
        });
    }
    let samples = reader
        .into_samples::<i16>()
        .collect::<Result<Vec<i16>, _>>()
        .map_err(|source| AudioError::Wav {
            path: name.clone(),
            source,
        })?;
    Ok(resample(&samples, spec.sample_rate, RATE))
}

/// Write 8 kHz mono 16-bit samples to a WAV file.
pub fn write_wav_8k(path: &Path, samples: &[i16]) -> Result<(), AudioError> {
    let name = path.display().to_string();
    let wrap = |source| AudioError::Wav {
        path: name.clone(),
        source,
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(wrap)?;
    for &s in samples {
        w.write_sample(s).map_err(wrap)?;
    }
    w.finalize().map_err(wrap)
}

/// Half-width of the windowed-sinc kernel, in input samples at the lower rate.
const KERNEL_HALF_WIDTH: f64 = 16.0;

/// Band-limited resampling with a Hann-windowed sinc kernel.
///
/// Down-sampling low-passes at 0.95 × the new Nyquist frequency, so a 44.1 kHz
/// recording loses nothing of the 300–3400 Hz telephone band and aliases
/// nothing into it (DTMF column tones reach 1633 Hz). Runs once per file at
/// load time; not a per-packet path.
pub fn resample(input: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let ratio = to as f64 / from as f64;
    // Cut-off relative to the input rate, in cycles per input sample.
    let cutoff = 0.5 * ratio.min(1.0) * 0.95;
    // Kernel support in input samples: widen when down-sampling.
    let half = KERNEL_HALF_WIDTH / ratio.min(1.0);
    let out_len = ((input.len() as f64) * ratio).round() as usize;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let t = n as f64 / ratio; // position in input samples
        let lo = (t - half).ceil().max(0.0) as usize;
        let hi = ((t + half).floor() as usize).min(input.len() - 1);
        let mut acc = 0.0;
        let mut norm = 0.0;
        for (k, &x) in input.iter().enumerate().take(hi + 1).skip(lo) {
            let d = t - k as f64;
            let arg = 2.0 * cutoff * d;
            let sinc = if arg.abs() < 1e-12 {
                1.0
            } else {
                (PI * arg).sin() / (PI * arg)
            };
            let w = 0.5 * (1.0 + (PI * d / half).cos());
            let h = sinc * w;
            acc += f64::from(x) * h;
            norm += h;
        }
        let y = if norm.abs() > 1e-9 { acc / norm } else { 0.0 };
        out.push(y.round().clamp(-32768.0, 32767.0) as i16);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, secs: f64, amp: f64) -> Vec<i16> {
        let n = (rate as f64 * secs) as usize;
        (0..n)
            .map(|i| (amp * (2.0 * PI * freq * i as f64 / rate as f64).sin()) as i16)
            .collect()
    }

    /// Goertzel power of `freq` in `x`, normalised to the amplitude of a sine.
    fn amplitude_at(x: &[i16], freq: f64, rate: u32) -> f64 {
        let w = 2.0 * PI * freq / rate as f64;
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in x {
            let s = f64::from(v) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let p = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
        2.0 * p.sqrt() / x.len() as f64
    }

    #[test]
    fn downsampling_keeps_the_telephone_band() {
        let x = tone(1633.0, 44_100, 0.5, 10_000.0);
        let y = resample(&x, 44_100, RATE);
        assert_eq!(y.len(), 4000);
        let a = amplitude_at(&y[400..3600], 1633.0, RATE);
        assert!((a - 10_000.0).abs() < 300.0, "1633 Hz amplitude {a}");
    }

    #[test]
    fn downsampling_rejects_what_would_alias() {
        // 6 kHz at 48 kHz would fold to 2 kHz at 8 kHz without the low-pass.
        let x = tone(6000.0, 48_000, 0.5, 10_000.0);
        let y = resample(&x, 48_000, RATE);
        let a = amplitude_at(&y[400..3600], 2000.0, RATE);
        assert!(a < 100.0, "aliased energy {a}");
    }

    #[test]
    fn upsampling_keeps_level() {
        let x = tone(697.0, 4000, 0.5, 8000.0);
        let y = resample(&x, 4000, RATE);
        let a = amplitude_at(&y[400..3600], 697.0, RATE);
        assert!((a - 8000.0).abs() < 300.0, "697 Hz amplitude {a}");
    }

    #[test]
    fn wav_round_trip_and_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.wav");
        let x = tone(440.0, RATE, 0.1, 1000.0);
        write_wav_8k(&p, &x).expect("write");
        assert_eq!(read_wav_8k(&p).expect("read"), x);

        let stereo = dir.path().join("s.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&stereo, spec).expect("create");
        w.write_sample(0i16).expect("write");
        w.write_sample(0i16).expect("write");
        w.finalize().expect("finalize");
        assert!(matches!(
            read_wav_8k(&stereo),
            Err(AudioError::NotMono { channels: 2, .. })
        ));
        assert!(read_wav_8k(&dir.path().join("missing.wav")).is_err());
    }
}
