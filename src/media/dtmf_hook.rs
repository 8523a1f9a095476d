//! The one place the media session touches the `dtmf` module: the in-band
//! [`Detector`] and the RFC 4733 [`EventReceiver`] of one call, behind four
//! calls the session makes per packet.

use crate::dtmf::{Detector, DigitEvent, EventReceiver};

/// In-band detector plus RFC 4733 receiver for one call.
#[derive(Default)]
pub(crate) struct DtmfHook {
    detector: Detector,
    events: EventReceiver,
}

impl std::fmt::Debug for DtmfHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DtmfHook")
            .field("samples", &self.detector.samples_seen())
            .finish()
    }
}

impl DtmfHook {
    pub(crate) fn new() -> Self {
        Self {
            detector: Detector::new(),
            events: EventReceiver::new(),
        }
    }

    /// Decoded received audio, in order, gaps filled with silence.
    pub(crate) fn push_audio(&mut self, pcm: &[i16]) {
        self.detector.push(pcm);
    }

    /// Next in-band digit (detector sample clock).
    pub(crate) fn poll_inband(&mut self) -> Option<DigitEvent> {
        self.detector.poll_event()
    }

    /// One telephone-event payload (RFC 4733 §2.3) at its RTP timestamp.
    /// A packet can complete two presses; the second comes from
    /// [`DtmfHook::poll_rfc4733`].
    pub(crate) fn on_event_packet(&mut self, rtp_ts: u32, payload: &[u8]) -> Option<DigitEvent> {
        self.events.on_packet(rtp_ts, payload)
    }

    /// A second press completed by the last packet, if any.
    pub(crate) fn poll_rfc4733(&mut self) -> Option<DigitEvent> {
        self.events.poll_event()
    }

    /// Media clock advanced (ends presses whose End packets were all lost).
    pub(crate) fn on_clock(&mut self, rtp_ts: u32) -> Option<DigitEvent> {
        self.events.on_clock(rtp_ts)
    }
}
