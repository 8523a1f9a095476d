//! The one place the media session touches the `dtmf` module.
//!
//! Agreed API (branch `dtmf`): `dtmf::Detector::{new, push, poll_event}`
//! and `dtmf::EventReceiver::{new, on_packet, on_clock}`. Until that
//! branch lands, this is a stand-in that detects nothing, so the session
//! compiles and runs; wiring it is replacing the four bodies below.

use crate::dtmf::DigitEvent;

/// In-band detector plus RFC 4733 receiver for one call.
#[derive(Debug, Default)]
pub(crate) struct DtmfHook {}

impl DtmfHook {
    pub(crate) fn new() -> Self {
        Self {}
    }

    /// Decoded received audio, in order, gaps filled with silence.
    pub(crate) fn push_audio(&mut self, _pcm: &[i16]) {}

    /// Next in-band digit (detector sample clock).
    pub(crate) fn poll_inband(&mut self) -> Option<DigitEvent> {
        None
    }

    /// One telephone-event payload (RFC 4733 §2.3) at its RTP timestamp.
    pub(crate) fn on_event_packet(&mut self, _rtp_ts: u32, _payload: &[u8]) -> Option<DigitEvent> {
        None
    }

    /// Media clock advanced (ends events whose End packets were all lost).
    pub(crate) fn on_clock(&mut self, _rtp_ts: u32) -> Option<DigitEvent> {
        None
    }
}
