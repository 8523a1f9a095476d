//! `orderline dtmf decode FILE.wav`: the whole-file front end of the detector.

use std::path::Path;

use crate::audio::{read_wav_8k, AudioError};
use orderline_dtmf::{decode_samples, DigitEvent};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error(transparent)]
    Audio(#[from] AudioError),
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
