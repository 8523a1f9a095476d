//! Prompt playback as a frame source, sans-IO.
//!
//! [`PromptPlayer`] holds a queue of [`PlayItem`]s and fills exactly one
//! frame (160 samples at 20 ms) per call, continuing items across frame
//! boundaries so that concatenated prompts ("your total is" + "2" +
//! "thousand" …) play seamlessly. When nothing is queued it yields
//! silence. Items are `Arc`-shared samples, so queuing copies no audio and
//! the per-frame path does not allocate.

use std::collections::VecDeque;
use std::sync::Arc;

/// Largest queue accepted; a confirm prompt with an amount is ~15 items.
pub const MAX_QUEUE: usize = 256;

/// One thing to play.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PlayItem {
    /// 8 kHz samples, e.g. from [`crate::media::PromptCache`].
    Prompt(Arc<[i16]>),
    /// Silence of this many milliseconds.
    Silence(u32),
    /// One or two sine tones (0 Hz = absent) at `level` peak amplitude
    /// each, for `ms` milliseconds (ring-back, beeps, test DTMF).
    Tone { hz: [u16; 2], ms: u32, level: i16 },
}

impl PlayItem {
    /// Length in samples at 8 kHz.
    pub fn samples(&self) -> usize {
        match self {
            PlayItem::Prompt(s) => s.len(),
            PlayItem::Silence(ms) | PlayItem::Tone { ms, .. } => *ms as usize * 8,
        }
    }
}

/// Errors from queueing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlayerError {
    #[error("playback queue is full ({MAX_QUEUE} items)")]
    QueueFull,
}

/// The playback queue.
#[derive(Debug, Default)]
pub struct PromptPlayer {
    queue: VecDeque<PlayItem>,
    /// Position inside the front item, in samples.
    pos: usize,
    /// Set when the queue ran empty after playing something.
    drained: bool,
}

impl PromptPlayer {
    pub fn new() -> Self {
        Self {
            queue: VecDeque::with_capacity(32),
            pos: 0,
            drained: false,
        }
    }

    /// Append items to the queue.
    pub fn enqueue(
        &mut self,
        items: impl IntoIterator<Item = PlayItem>,
    ) -> Result<(), PlayerError> {
        for item in items {
            if self.queue.len() >= MAX_QUEUE {
                return Err(PlayerError::QueueFull);
            }
            if item.samples() > 0 {
                self.queue.push_back(item);
            }
        }
        Ok(())
    }

    /// Barge-in: drop everything queued, including the rest of the current
    /// prompt. Returns whether something was playing. Does not report
    /// "drained" for a stopped queue (the caller asked for it).
    pub fn stop(&mut self) -> bool {
        let was = !self.queue.is_empty();
        self.queue.clear();
        self.pos = 0;
        self.drained = false;
        was
    }

    /// Whether anything is queued or playing.
    pub fn is_playing(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Take the "queue ran empty" notification (true once per drain).
    pub fn take_drained(&mut self) -> bool {
        std::mem::take(&mut self.drained)
    }

    /// Fill `out` (one frame) from the queue; silence where nothing plays.
    /// Returns the number of samples that came from queued items.
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        let mut filled = 0;
        while filled < out.len() {
            let Some(item) = self.queue.front() else {
                break;
            };
            let len = item.samples();
            let n = (len - self.pos).min(out.len() - filled);
            let dst = &mut out[filled..filled + n];
            match item {
                PlayItem::Prompt(s) => dst.copy_from_slice(&s[self.pos..self.pos + n]),
                PlayItem::Silence(_) => dst.fill(0),
                PlayItem::Tone { hz, level, .. } => tone(dst, *hz, *level, self.pos),
            }
            filled += n;
            self.pos += n;
            if self.pos >= len {
                self.queue.pop_front();
                self.pos = 0;
                if self.queue.is_empty() {
                    self.drained = true;
                }
            }
        }
        out[filled..].fill(0);
        filled
    }
}

/// Write a sum of up to two sines, phase-continuous across frames because
/// the phase is computed from the absolute sample index.
fn tone(dst: &mut [i16], hz: [u16; 2], level: i16, start: usize) {
    let w = |f: u16| 2.0 * std::f32::consts::PI * f as f32 / 8000.0;
    let (w0, w1) = (w(hz[0]), w(hz[1]));
    let amp = level as f32;
    for (i, d) in dst.iter_mut().enumerate() {
        let n = (start + i) as f32;
        let mut v = 0.0;
        if hz[0] > 0 {
            v += (w0 * n).sin();
        }
        if hz[1] > 0 {
            v += (w1 * n).sin();
        }
        *d = (v * amp).clamp(i16::MIN as f32, i16::MAX as f32) as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(n: usize, base: i16) -> PlayItem {
        PlayItem::Prompt((0..n).map(|i| base + i as i16).collect::<Vec<_>>().into())
    }

    #[test]
    fn items_are_concatenated_across_frames_exactly() {
        let mut p = PromptPlayer::new();
        p.enqueue([prompt(100, 1000), PlayItem::Silence(5), prompt(300, 5000)])
            .unwrap();
        let total = 100 + 40 + 300;
        let mut got = Vec::new();
        let mut frame = [0i16; 160];
        let mut from_queue = 0;
        for _ in 0..3 {
            from_queue += p.fill(&mut frame);
            got.extend_from_slice(&frame);
        }
        assert_eq!(from_queue, total);
        assert_eq!(&got[..100], &(1000..1100).collect::<Vec<i16>>()[..]);
        assert!(got[100..140].iter().all(|&s| s == 0));
        assert_eq!(&got[140..440], &(5000..5300).collect::<Vec<i16>>()[..]);
        assert!(got[440..].iter().all(|&s| s == 0));
        assert!(p.take_drained());
        assert!(!p.take_drained());
    }

    #[test]
    fn idle_player_yields_silence_and_no_drain_event() {
        let mut p = PromptPlayer::new();
        let mut frame = [7i16; 160];
        assert_eq!(p.fill(&mut frame), 0);
        assert!(frame.iter().all(|&s| s == 0));
        assert!(!p.take_drained());
    }

    #[test]
    fn stop_is_barge_in() {
        let mut p = PromptPlayer::new();
        p.enqueue([prompt(1000, 0)]).unwrap();
        let mut frame = [0i16; 160];
        p.fill(&mut frame);
        assert!(p.stop());
        assert_eq!(p.fill(&mut frame), 0);
        assert!(!p.take_drained());
        assert!(!p.is_playing());
    }

    #[test]
    fn tone_has_expected_frequency() {
        let mut p = PromptPlayer::new();
        p.enqueue([PlayItem::Tone {
            hz: [1000, 0],
            ms: 20,
            level: 8000,
        }])
        .unwrap();
        let mut frame = [0i16; 160];
        assert_eq!(p.fill(&mut frame), 160);
        // 1 kHz at 8 kHz: period 8 samples; peaks at 2 mod 8, troughs at 6.
        for k in 0..20 {
            assert!(frame[8 * k + 2] > 7900, "peak {k}");
            assert!(frame[8 * k + 6] < -7900, "trough {k}");
        }
    }

    #[test]
    fn queue_is_bounded() {
        let mut p = PromptPlayer::new();
        let many = std::iter::repeat_n(PlayItem::Silence(20), MAX_QUEUE + 1);
        assert_eq!(p.enqueue(many), Err(PlayerError::QueueFull));
    }
}
