//! DTMF: in-band detection, RFC 4733 telephone-events, tone generation and squelch.
//!
//! Sans-IO: nothing here touches sockets, async runtimes or the wall clock
//! (this crate's manifest has no dependency that could).
//! Time is the 8 kHz sample clock handed in by the caller.
//!
//! | piece | type | what it promises |
//! |---|---|---|
//! | in-band detector | [`Detector`] | Q.24: ≥ 40 ms tones/pauses detected, ≤ 20 ms rejected, ±1.5 % accepted / ±3.5 % rejected, twist 8 dB / 4 dB, 0 to −26 dBm0, 15 dB SNR, no talk-off; [`Detector::in_digit`] for barge-in |
//! | RFC 4733 receive | [`EventReceiver`] | one [`DigitEvent`] per press, keyed on the E bit, duplicates and lost ends handled |
//! | RFC 4733 send | [`EventSender`] → [`EventPacket`]s | marker on the first packet, updates each interval, three End packets |
//! | tones | [`ToneGenerator`], [`Tone`], [`DtmfTiming`] | DTMF digits and plain tones at a level, into `&mut [i16]` |
//! | squelch | [`Squelch`] | fixed 40 ms delay, DTMF tones replaced by silence, onset and tail included |
//! | whole-signal decode | [`decode_samples`] | what `orderline dtmf decode FILE.wav` runs (the file front end is the root crate's) |
//!
//! Every hot-path call (`push`, `poll_event`, `process`, `fill`, `on_packet`) is
//! allocation-free, and per-channel state is a few hundred bytes (`tests/dtmf_sans_io.rs`).
//! The detector is held against spandsp's `dtmf_rx` in `tests/dtmf_vs_spandsp.rs` and
//! `tests/dtmf_talkoff.rs`; see `docs/decisions.md` for why it is our own.

/// Where a digit came from. The IVR does not care; logs and tests do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigitSource {
    /// Detected from audio by the in-band [`Detector`].
    InBand,
    /// Received as an RFC 4733 telephone-event.
    Rfc4733,
    /// Received as SIP INFO (`application/dtmf-relay` or `application/dtmf`):
    /// signalling, not media, so it has no place on the RTP clock.
    Info,
}

/// Which key presses a trunk's calls take (`[[trunks]] dtmf`). Carriers that
/// send keys one way may also leak them another (tones left in the audio
/// beside INFO); naming the one they use stops double counting and talk-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DtmfMode {
    /// Every source; in-band and RFC 4733 de-duplicated against each other.
    #[default]
    Auto,
    Rfc4733,
    InBand,
    Info,
}

impl DtmfMode {
    /// `auto`, `rfc4733`, `inband` or `info`.
    pub fn parse(s: &str) -> Option<DtmfMode> {
        Some(match s {
            "auto" => DtmfMode::Auto,
            "rfc4733" => DtmfMode::Rfc4733,
            "inband" => DtmfMode::InBand,
            "info" => DtmfMode::Info,
            _ => return None,
        })
    }

    /// Whether a digit from `source` counts under this mode.
    pub fn accepts(self, source: DigitSource) -> bool {
        matches!(
            (self, source),
            (DtmfMode::Auto, _)
                | (DtmfMode::Rfc4733, DigitSource::Rfc4733)
                | (DtmfMode::InBand, DigitSource::InBand)
                | (DtmfMode::Info, DigitSource::Info)
        )
    }
}

#[cfg(test)]
mod mode_tests {
    use super::*;

    #[test]
    fn each_mode_takes_its_source_and_auto_takes_all() {
        let all = [DigitSource::InBand, DigitSource::Rfc4733, DigitSource::Info];
        assert!(all.iter().all(|s| DtmfMode::Auto.accepts(*s)));
        for (name, only) in [
            ("rfc4733", DigitSource::Rfc4733),
            ("inband", DigitSource::InBand),
            ("info", DigitSource::Info),
        ] {
            let m = DtmfMode::parse(name).expect("mode");
            for s in all {
                assert_eq!(m.accepts(s), s == only, "{name} {s:?}");
            }
        }
        assert_eq!(DtmfMode::parse("sip-info"), None);
    }
}

/// One key press, in 8 kHz sample-clock units (`start` inclusive, `end` exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitEvent {
    /// One of `0123456789*#ABCD`.
    pub digit: char,
    pub start: u64,
    pub end: u64,
    pub source: DigitSource,
}

mod analysis;
mod detector;
mod rfc4733;
mod squelch;
mod tone;

pub use analysis::{amplitude_to_dbm0, dbm0_to_amplitude};
pub use detector::{Detector, DetectorConfig};
pub use rfc4733::{
    DigitPackets, EventPacket, EventReceiver, EventSender, Rfc4733Error, TelephoneEvent,
};
pub use squelch::Squelch;
pub use tone::{dtmf_freqs, dtmf_samples, render, DtmfTiming, Tone, ToneError, ToneGenerator};

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
