//! `orderline amd classify FILE.wav [--json]`: the whole-file front end of the
//! answering-machine detector (`orderline-amd`, sans-IO). The WAV is read and
//! brought to 8 kHz by [`crate::audio::read_wav_8k`], the same reader as
//! `orderline dtmf decode`, then fed to the detector in 20 ms frames as a call
//! would feed it.

use std::path::Path;

use orderline_amd::{AmdConfig, ConfigError, Outcome};

use crate::audio::{read_wav_8k, AudioError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClassifyError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error("AMD config: {0}")]
    Config(#[from] ConfigError),
    #[error("{path}: no audio to classify")]
    Empty { path: String },
}

/// Classify a WAV file (any rate, mono, 16-bit) with the default config.
pub fn classify_file(path: &Path) -> Result<Outcome, ClassifyError> {
    let samples = read_wav_8k(path)?;
    if samples.is_empty() {
        return Err(ClassifyError::Empty {
            path: path.display().to_string(),
        });
    }
    Ok(orderline_amd::classify(&samples, AmdConfig::default())?)
}

/// The CLI's output line: `human`, `machine` or `unknown`; with `json` an
/// object with `result`, `decision_ms`, `reason`, `beep` and `beep_ms` (when
/// the beep ended, if one was heard).
pub fn classify_line(path: &Path, json: bool) -> Result<String, ClassifyError> {
    let outcome = classify_file(path)?;
    let first = outcome.first;
    if !json {
        return Ok(first.result.as_str().to_owned());
    }
    let beep_ms = if first.beep {
        Some(first.decision_ms)
    } else {
        outcome.beep.map(|d| d.decision_ms)
    };
    Ok(serde_json::json!({
        "result": first.result.as_str(),
        "decision_ms": first.decision_ms,
        "reason": first.reason.as_str(),
        "beep": outcome.heard_beep(),
        "beep_ms": beep_ms,
    })
    .to_string())
}
