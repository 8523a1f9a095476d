//! DTMF: in-band detection, RFC 4733 telephone-events, tone generation and squelch.
//!
//! Sans-IO: nothing here touches sockets, async runtimes or the wall clock.
//! Time is the 8 kHz sample clock handed in by the caller.

/// Where a digit came from. The IVR does not care; logs and tests do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigitSource {
    /// Detected from audio by the Goertzel detector.
    InBand,
    /// Received as an RFC 4733 telephone-event.
    Rfc4733,
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
mod decode;
mod detector;
mod rfc4733;
mod squelch;
mod tone;

pub use analysis::{amplitude_to_dbm0, dbm0_to_amplitude};
pub use decode::{decode_file, decode_line, decode_samples, DecodeError};
pub use detector::{Detector, DetectorConfig};
pub use rfc4733::{
    DigitPackets, EventPacket, EventReceiver, EventSender, Rfc4733Error, TelephoneEvent,
};
pub use squelch::Squelch;
pub use tone::{dtmf_freqs, dtmf_samples, render, DtmfTiming, Tone, ToneError, ToneGenerator};
