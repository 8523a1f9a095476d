//! `orderline dtmf decode FILE.wav`: the whole-file front end of the detector.

use std::path::Path;

use super::{Detector, DigitEvent};
use crate::audio::{read_wav_8k, AudioError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error(transparent)]
    Audio(#[from] AudioError),
}

/// Run the in-band detector over 8 kHz samples, frame by frame as a call would.
pub fn decode_samples(samples: &[i16]) -> Vec<DigitEvent> {
    let mut det = Detector::new();
    let mut out = Vec::new();
    for frame in samples.chunks(160) {
        det.push(frame);
        out.extend(std::iter::from_fn(|| det.poll_event()));
    }
    det.finish();
    out.extend(std::iter::from_fn(|| det.poll_event()));
    out
}

/// Decode a WAV file (any rate, mono, 16-bit).
pub fn decode_file(path: &Path) -> Result<Vec<DigitEvent>, DecodeError> {
    Ok(decode_samples(&read_wav_8k(path)?))
}

/// The CLI's output line: the digits, or with `json` an object with timings in ms.
pub fn decode_line(path: &Path, json: bool) -> Result<String, DecodeError> {
    let events = decode_file(path)?;
    let digits: String = events.iter().map(|e| e.digit).collect();
    if !json {
        return Ok(digits);
    }
    let list: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::json!({"digit": e.digit.to_string(), "start_ms": e.start as f64 / 8.0, "end_ms": e.end as f64 / 8.0}))
        .collect();
    Ok(serde_json::json!({"digits": digits, "events": list}).to_string())
}
