//! Merging in-band and RFC 4733 digits into one stream, sans-IO.
//!
//! Some gateways send a key press both as audio tones and as RFC 4733
//! telephone-events (RFC 4733 §2.6 allows it; it is common when a trunk
//! transcodes). Reporting both would count one press twice. When the
//! session negotiated telephone-event, the RFC 4733 digit is preferred:
//! an in-band digit is held for [`DigitMerger::HOLD`] samples of media
//! time after its end and dropped if a 4733 event for the same key
//! overlaps it (in RTP time) before then, or already did.
//!
//! Both sources are compared on the RTP timestamp clock: the session maps
//! the in-band detector's sample index onto the RTP timestamps of the
//! audio it fed (see `session`), and RFC 4733 events carry RTP timestamps
//! of their own (RFC 4733 §2.3.5).

use crate::dtmf::DigitEvent;
#[cfg(test)]
use crate::dtmf::DigitSource;

const PENDING: usize = 4;
const RECENT: usize = 4;

/// Fixed-size merger; no allocation.
#[derive(Debug, Clone)]
pub struct DigitMerger {
    prefer_4733: bool,
    pending: [Option<DigitEvent>; PENDING],
    recent_4733: [Option<DigitEvent>; RECENT],
    next_recent: usize,
    dropped_inband: u64,
}

impl DigitMerger {
    /// How long (8 kHz samples) an in-band digit waits for a matching
    /// RFC 4733 event: 200 ms. A 4733 End packet is sent when the key is
    /// released, so it arrives around the in-band digit's end.
    pub const HOLD: u64 = 1600;
    /// Tolerance when comparing the two clocks: 100 ms.
    pub const SLACK: u64 = 800;

    /// `prefer_4733`: the peer negotiated telephone-event (SDP `dtmf_pt`).
    /// Without it in-band digits pass straight through.
    pub fn new(prefer_4733: bool) -> Self {
        Self {
            prefer_4733,
            pending: [None; PENDING],
            recent_4733: [None; RECENT],
            next_recent: 0,
            dropped_inband: 0,
        }
    }

    pub fn set_prefer_4733(&mut self, on: bool) {
        self.prefer_4733 = on;
    }

    /// In-band digits suppressed as duplicates of RFC 4733 ones.
    pub fn dropped_inband(&self) -> u64 {
        self.dropped_inband
    }

    /// An RFC 4733 digit: always reported; cancels overlapping held
    /// in-band digits.
    pub fn on_rfc4733(&mut self, ev: DigitEvent) -> DigitEvent {
        for slot in self.pending.iter_mut() {
            if slot.is_some_and(|p| same_press(&p, &ev)) {
                *slot = None;
                self.dropped_inband += 1;
            }
        }
        self.recent_4733[self.next_recent] = Some(ev);
        self.next_recent = (self.next_recent + 1) % RECENT;
        ev
    }

    /// An in-band digit (times on the RTP clock). Returns it at once when
    /// nothing is preferred; otherwise holds it (or drops it if a 4733
    /// event for it was already seen). If the hold queue is full the
    /// oldest held digit is returned to make room.
    pub fn on_inband(&mut self, ev: DigitEvent) -> Option<DigitEvent> {
        if !self.prefer_4733 {
            return Some(ev);
        }
        if self
            .recent_4733
            .iter()
            .flatten()
            .any(|r| same_press(r, &ev))
        {
            self.dropped_inband += 1;
            return None;
        }
        if let Some(free) = self.pending.iter_mut().find(|p| p.is_none()) {
            *free = Some(ev);
            return None;
        }
        // Full: release the oldest (earliest end) and hold the new one.
        let oldest = self.oldest_pending()?;
        self.pending[oldest].replace(ev)
    }

    /// Media time advanced to `now` (RTP clock): release held in-band
    /// digits whose wait is over, oldest first. Call until `None`.
    pub fn poll(&mut self, now: u64) -> Option<DigitEvent> {
        let i = self.oldest_pending()?;
        let p = self.pending[i]?;
        if now >= p.end + Self::HOLD {
            self.pending[i] = None;
            Some(p)
        } else {
            None
        }
    }

    /// Release everything held (end of call).
    pub fn flush(&mut self) -> Option<DigitEvent> {
        let i = self.oldest_pending()?;
        self.pending[i].take()
    }

    fn oldest_pending(&self) -> Option<usize> {
        self.pending
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p.end)))
            .min_by_key(|&(_, end)| end)
            .map(|(i, _)| i)
    }
}

/// Same key, intervals overlapping within [`DigitMerger::SLACK`], one of
/// each source.
fn same_press(a: &DigitEvent, b: &DigitEvent) -> bool {
    a.digit == b.digit
        && a.source != b.source
        && a.start <= b.end + DigitMerger::SLACK
        && b.start <= a.end + DigitMerger::SLACK
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(digit: char, start: u64, end: u64, source: DigitSource) -> DigitEvent {
        DigitEvent {
            digit,
            start,
            end,
            source,
        }
    }

    #[test]
    fn without_4733_inband_passes_through() {
        let mut m = DigitMerger::new(false);
        let e = ev('5', 0, 800, DigitSource::InBand);
        assert_eq!(m.on_inband(e), Some(e));
    }

    #[test]
    fn inband_then_4733_for_same_press_reports_only_4733() {
        let mut m = DigitMerger::new(true);
        assert_eq!(m.on_inband(ev('1', 1000, 1800, DigitSource::InBand)), None);
        let r = ev('1', 960, 1760, DigitSource::Rfc4733);
        assert_eq!(m.on_rfc4733(r), r);
        assert_eq!(m.poll(10_000), None);
        assert_eq!(m.dropped_inband(), 1);
    }

    #[test]
    fn rfc4733_then_inband_drops_the_inband() {
        let mut m = DigitMerger::new(true);
        m.on_rfc4733(ev('#', 960, 1760, DigitSource::Rfc4733));
        assert_eq!(m.on_inband(ev('#', 1000, 1800, DigitSource::InBand)), None);
        assert_eq!(m.poll(100_000), None);
    }

    #[test]
    fn lone_inband_is_released_after_hold() {
        let mut m = DigitMerger::new(true);
        let e = ev('7', 1000, 1800, DigitSource::InBand);
        assert_eq!(m.on_inband(e), None);
        assert_eq!(m.poll(1800 + DigitMerger::HOLD - 1), None);
        assert_eq!(m.poll(1800 + DigitMerger::HOLD), Some(e));
    }

    #[test]
    fn repeated_key_presses_are_not_merged() {
        let mut m = DigitMerger::new(true);
        m.on_rfc4733(ev('1', 0, 800, DigitSource::Rfc4733));
        // A second press of the same key 400 ms later, heard in-band only.
        let second = ev('1', 4000, 4800, DigitSource::InBand);
        assert_eq!(m.on_inband(second), None);
        assert_eq!(m.poll(4800 + DigitMerger::HOLD), Some(second));
    }

    #[test]
    fn different_keys_are_not_merged() {
        let mut m = DigitMerger::new(true);
        let a = ev('1', 1000, 1800, DigitSource::InBand);
        m.on_inband(a);
        m.on_rfc4733(ev('2', 1000, 1800, DigitSource::Rfc4733));
        assert_eq!(m.flush(), Some(a));
    }
}
