//! The decision state machine: frames in, at most two [`Decision`]s out.

use crate::beep::{BeepEvent, BeepTracker};
use crate::vad::{FrameLevel, VoiceActivity};
use crate::{AmdConfig, AmdReason, AmdResult, Decision, FRAME, FRAME_MS};

/// A config the detector cannot run with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{field} must be at least {min} ms (one 20 ms frame or more), got {got}")]
    TooShort {
        field: &'static str,
        min: u32,
        got: u32,
    },
    #[error("beep band {min_hz}–{max_hz} Hz must lie within 100–3900 Hz and be non-empty")]
    BeepBand { min_hz: f32, max_hz: f32 },
    #[error("voice margin {0} dB must be between 0 and 40")]
    VoiceMargin(f32),
}

impl AmdConfig {
    /// Check the values make sense before a call depends on them.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, got, min) in [
            ("initial_silence_ms", self.initial_silence_ms, FRAME_MS),
            ("greeting_ms", self.greeting_ms, FRAME_MS),
            ("repeat_greeting_ms", self.repeat_greeting_ms, FRAME_MS),
            (
                "after_greeting_silence_ms",
                self.after_greeting_silence_ms,
                FRAME_MS,
            ),
            ("total_analysis_ms", self.total_analysis_ms, FRAME_MS),
            ("min_word_ms", self.min_word_ms, FRAME_MS),
            ("between_words_ms", self.between_words_ms, FRAME_MS),
            ("utterance_pause_ms", self.utterance_pause_ms, FRAME_MS),
            ("max_word_ms", self.max_word_ms, FRAME_MS),
            ("beep_min_ms", self.beep_min_ms, 2 * FRAME_MS),
        ] {
            if got < min {
                return Err(ConfigError::TooShort { field, min, got });
            }
        }
        let (lo, hi) = (self.beep_min_hz, self.beep_max_hz);
        if !(lo >= 100.0 && hi <= 3900.0 && lo < hi) {
            return Err(ConfigError::BeepBand {
                min_hz: lo,
                max_hz: hi,
            });
        }
        if !(0.0..=40.0).contains(&self.voice_margin_db) {
            return Err(ConfigError::VoiceMargin(self.voice_margin_db));
        }
        Ok(())
    }
}

/// Where the detector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Classifying.
    Listening,
    /// Said `machine` without a beep; still listening for one.
    AwaitingBeep,
    /// Nothing more will come.
    Done,
}

/// Answering-machine detector for one call. Sans-IO: push 8 kHz samples as
/// they arrive (any chunk size; analysed in 20 ms frames), then poll.
#[derive(Debug, Clone)]
pub struct AmdDetector {
    cfg: AmdConfig,
    vad: VoiceActivity,
    beep: BeepTracker,
    buf: Vec<i16>,
    frames: u32,
    phase: Phase,
    out: Vec<Decision>,
    /// Consecutive voiced time, reset only by a between-words silence (so a
    /// single quiet frame inside a word does not split it — `app_amd`'s rule).
    voice_run_ms: u32,
    silence_run_ms: u32,
    in_word: bool,
    words: u32,
    greeting_started: bool,
    greeting_voice_ms: u32,
    /// Utterances begun so far (a pause of `utterance_pause_ms` ends one).
    utterances: u32,
}

impl AmdDetector {
    /// A detector with `config` (checked).
    pub fn new(config: AmdConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(AmdDetector {
            vad: VoiceActivity::new(config.silence_threshold, config.voice_margin_db),
            beep: BeepTracker::new(config.beep_min_ms, config.beep_min_hz, config.beep_max_hz),
            cfg: config,
            buf: Vec::with_capacity(FRAME),
            frames: 0,
            phase: Phase::Listening,
            out: Vec::with_capacity(2),
            voice_run_ms: 0,
            silence_run_ms: 0,
            in_word: false,
            words: 0,
            greeting_started: false,
            greeting_voice_ms: 0,
            utterances: 0,
        })
    }

    /// Feed samples (8 kHz, linear). Complete 20 ms frames are analysed at once.
    pub fn push(&mut self, mut samples: &[i16]) {
        while !samples.is_empty() && self.phase != Phase::Done {
            if self.buf.is_empty() && samples.len() >= FRAME {
                let (frame, rest) = samples.split_at(FRAME);
                self.frame(frame);
                samples = rest;
                continue;
            }
            let take = (FRAME - self.buf.len()).min(samples.len());
            self.buf.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.buf.len() == FRAME {
                let frame = std::mem::take(&mut self.buf);
                self.frame(&frame);
                self.buf = frame;
                self.buf.clear();
            }
        }
    }

    /// The next decision, if one is ready.
    pub fn poll_decision(&mut self) -> Option<Decision> {
        if self.out.is_empty() {
            None
        } else {
            Some(self.out.remove(0))
        }
    }

    /// No more decisions will come: the call layer can stop feeding audio.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Milliseconds of audio analysed so far.
    pub fn elapsed_ms(&self) -> u32 {
        self.frames * FRAME_MS
    }

    /// The audio has ended (hang-up, end of file): decide with what was heard.
    pub fn finish(&mut self) {
        if self.phase == Phase::Done {
            return;
        }
        let now = self.elapsed_ms();
        if let BeepEvent::Ended { .. } = self.beep.finish() {
            self.emit(AmdResult::Machine, AmdReason::Beep, now, true);
            return;
        }
        if self.phase == Phase::Listening {
            self.emit(AmdResult::Unknown, AmdReason::EndOfAudio, now, false);
        }
        self.phase = Phase::Done;
    }

    fn emit(&mut self, result: AmdResult, reason: AmdReason, at: u32, beep: bool) {
        let speech_end_ms = self
            .greeting_started
            .then(|| at.saturating_sub(self.silence_run_ms));
        self.out.push(Decision {
            result,
            reason,
            decision_ms: at,
            beep,
            speech_end_ms,
        });
        self.phase = if result == AmdResult::Machine && !beep && at < self.cfg.beep_listen_ms {
            Phase::AwaitingBeep
        } else {
            Phase::Done
        };
    }

    fn frame(&mut self, frame: &[i16]) {
        self.frames += 1;
        let now = self.elapsed_ms();
        let level = FrameLevel::of(frame);
        let voice = self.vad.is_voice(level);
        let beep = self.beep.push(frame, voice, level.db);
        match self.phase {
            Phase::Done => return,
            Phase::AwaitingBeep => {
                if let BeepEvent::Ended { .. } = beep {
                    self.emit(AmdResult::Machine, AmdReason::Beep, now, true);
                } else if now >= self.cfg.beep_listen_ms {
                    self.phase = Phase::Done;
                }
                return;
            }
            Phase::Listening => {}
        }
        if let BeepEvent::Ended { .. } = beep {
            self.emit(AmdResult::Machine, AmdReason::Beep, now, true);
            return;
        }
        if let Some((result, reason)) = self.classify(voice, beep == BeepEvent::Sounding, now) {
            self.emit(result, reason, now, false);
        }
    }

    /// One frame of the `app_amd`-shaped rules.
    fn classify(&mut self, voice: bool, tone: bool, now: u32) -> Option<(AmdResult, AmdReason)> {
        let c = &self.cfg;
        if tone {
            // A beep in progress (heard as voice or, once the noise floor has
            // learnt it, not): neither a long greeting nor the silence after
            // one. Wait for its end — but not past the analysis time: a tone
            // that never ends is no voicemail beep.
            self.silence_run_ms = 0;
            return (now >= c.total_analysis_ms)
                .then_some((AmdResult::Unknown, AmdReason::Timeout));
        }
        if voice {
            if self.greeting_started && self.silence_run_ms >= c.utterance_pause_ms {
                // A new utterance after a turn-taking pause.
                self.greeting_voice_ms = 0;
                self.words = 0;
                self.utterances += 1;
            }
            self.silence_run_ms = 0;
            self.voice_run_ms += FRAME_MS;
            if self.greeting_started {
                self.greeting_voice_ms += FRAME_MS;
            }
            if !self.in_word && self.voice_run_ms >= c.min_word_ms {
                self.in_word = true;
                self.words += 1;
                if !self.greeting_started {
                    self.greeting_started = true;
                    self.greeting_voice_ms = self.voice_run_ms;
                }
            }
            let limit = if self.utterances == 0 {
                c.greeting_ms
            } else {
                c.repeat_greeting_ms
            };
            if self.greeting_started && self.greeting_voice_ms >= limit {
                return Some((AmdResult::Machine, AmdReason::LongGreeting));
            }
            if self.voice_run_ms >= c.max_word_ms {
                return Some((AmdResult::Machine, AmdReason::MaxWordLength));
            }
            if self.words > c.max_words {
                return Some((AmdResult::Machine, AmdReason::MaxWords));
            }
        } else {
            self.silence_run_ms += FRAME_MS;
            if self.silence_run_ms >= c.between_words_ms {
                self.voice_run_ms = 0;
                self.in_word = false;
            }
            if self.greeting_started && self.silence_run_ms >= c.after_greeting_silence_ms {
                return Some((AmdResult::Human, AmdReason::ShortGreetingThenSilence));
            }
            if !self.greeting_started && now >= c.initial_silence_ms {
                return Some((AmdResult::Unknown, AmdReason::InitialSilence));
            }
        }
        if now >= c.total_analysis_ms {
            return Some((AmdResult::Unknown, AmdReason::Timeout));
        }
        None
    }
}
