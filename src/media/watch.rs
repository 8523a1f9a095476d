//! Media timeout: a far end that stops sending RTP and RTCP has gone, even
//! if no BYE ever comes (a phone out of coverage, a crashed gateway, a NAT
//! binding lost). Issue #14: a bridged call whose customer vanished stayed
//! up with the agent listening to silence.
//!
//! Sans-IO: the media task tells the watch when something arrived from the
//! far end and asks it, with the time, whether the call has been quiet too
//! long. The rule is Asterisk's `rtptimeout` / `rtpholdtimeout` (chan_sip):
//! one limit while talking and a longer one while the far end holds the
//! call (RFC 3264 §8.4 `sendonly`/`inactive`), when many phones send nothing.

use std::time::{Duration, Instant};

/// `[sip] media_timeout` and `hold_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaTimeouts {
    /// Longest silence (no RTP, no RTCP) while the call is up.
    pub media: Duration,
    /// Longest silence while the far end holds the call.
    pub hold: Duration,
}

impl Default for MediaTimeouts {
    fn default() -> Self {
        Self {
            media: Duration::from_secs(30),
            hold: Duration::from_secs(300),
        }
    }
}

/// One leg's media timeout. Fires once.
#[derive(Debug, Clone)]
pub struct MediaWatch {
    timeouts: MediaTimeouts,
    last_heard: Instant,
    on_hold: bool,
    fired: bool,
}

impl MediaWatch {
    /// Start counting at `now` (the answer: a far end gets the full limit
    /// to send its first packet).
    pub fn new(timeouts: MediaTimeouts, now: Instant) -> Self {
        Self {
            timeouts,
            last_heard: now,
            on_hold: false,
            fired: false,
        }
    }

    /// An RTP or RTCP packet from the far end arrived.
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = self.last_heard.max(now);
    }

    /// The far end put the call on hold (or took it off). The silence so far
    /// counts against the new limit: a hold that follows a long silence
    /// still ends when the hold limit runs out, not later.
    pub fn set_hold(&mut self, on_hold: bool) {
        self.on_hold = on_hold;
    }

    fn limit(&self) -> Duration {
        if self.on_hold {
            self.timeouts.hold
        } else {
            self.timeouts.media
        }
    }

    /// When the call times out if nothing more arrives.
    pub fn deadline(&self) -> Instant {
        self.last_heard + self.limit()
    }

    /// `Some(silence)` the first time `now` reaches the deadline; never again.
    pub fn poll(&mut self, now: Instant) -> Option<Duration> {
        if self.fired || now < self.deadline() {
            return None;
        }
        self.fired = true;
        Some(now.saturating_duration_since(self.last_heard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: MediaTimeouts = MediaTimeouts {
        media: Duration::from_secs(30),
        hold: Duration::from_secs(300),
    };

    #[test]
    fn packets_keep_the_call_up_and_silence_ends_it_once() {
        let t0 = Instant::now();
        let mut w = MediaWatch::new(T, t0);
        // 20 ms packets for a minute: never fires.
        for i in 0..3000u64 {
            let now = t0 + Duration::from_millis(20 * i);
            w.heard(now);
            assert_eq!(w.poll(now), None, "fired at {i}");
        }
        let last = t0 + Duration::from_millis(20 * 2999);
        assert_eq!(w.poll(last + Duration::from_millis(29_999)), None);
        assert_eq!(
            w.poll(last + Duration::from_secs(30)),
            Some(Duration::from_secs(30))
        );
        assert_eq!(w.poll(last + Duration::from_secs(31)), None, "fires once");
    }

    #[test]
    fn a_far_end_that_never_sends_times_out_from_the_answer() {
        let t0 = Instant::now();
        let mut w = MediaWatch::new(T, t0);
        assert_eq!(w.deadline(), t0 + T.media);
        assert!(w.poll(t0 + T.media).is_some());
    }

    #[test]
    fn hold_uses_the_longer_limit_and_unhold_the_shorter() {
        let t0 = Instant::now();
        let mut w = MediaWatch::new(T, t0);
        w.set_hold(true);
        assert_eq!(w.poll(t0 + Duration::from_secs(60)), None);
        assert_eq!(w.deadline(), t0 + T.hold);
        // Taken off hold after a minute of silence: the talking limit applies
        // to the silence so far, so the call ends at once.
        w.set_hold(false);
        assert_eq!(
            w.poll(t0 + Duration::from_secs(60)),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn late_timestamps_never_move_the_deadline_back() {
        let t0 = Instant::now();
        let mut w = MediaWatch::new(T, t0 + Duration::from_secs(10));
        w.heard(t0);
        assert_eq!(w.deadline(), t0 + Duration::from_secs(40));
    }
}
