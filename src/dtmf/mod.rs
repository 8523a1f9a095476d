//! DTMF as the daemon and CLI see it: the sans-IO detector, RFC 4733, tones
//! and squelch from the `orderline-dtmf` crate (re-exported, so
//! `orderline::dtmf::Detector` keeps its path), and the WAV-file front end of
//! `orderline dtmf decode`.

mod decode;

pub use orderline_dtmf::*;

pub use decode::{decode_file, decode_line, DecodeError};
