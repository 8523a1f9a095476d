//! Text no stock prompt covers — a store's, a product's or a customer's
//! name — rendered into a prompt WAV (issue #13) by the engine configured for
//! the language ([`engine`]: the neural English voice, espeak-ng for the rest).
//!
//! Rendering happens when an order arrives (the API's create handler, on a
//! blocking thread), never on a call's media path: the call only looks the
//! finished file up. Files are cached on disk by content:
//! `<cache_dir>/<lang>/tts_<16 hex of SHA-256(voice, lang, text)>.wav`
//! ([`rendering_key`]), 8 kHz mono 16-bit PCM (what G.711 encodes;
//! [`crate::media::PromptCache`] reads it). The same text in the same
//! language and voice is rendered once, for every order; a change of engine
//! renders anew instead of playing the other voice's file.
//!
//! A merchant recording replaces a rendering: a file named by [`key`]
//! (language and text only, whatever the engine) under `prompts/<lang>/`
//! wins ([`rendered_keys`] lists it first; the call accepts it only from the
//! prompt directories, [`PromptCache::has_recorded`]). `GET /v1/orders/{id}`
//! does not show it, the README explains how to compute it.
//!
//! A text the engine cannot speak (no file, or no speech: e.g. only symbols
//! or private-use characters) is an error naming it, which the caller turns
//! into a failed preparation of the order, not a failed call. An engine
//! missing altogether is a different error ([`TtsError::Engine`]): the daemon
//! then keeps calling without the dynamic text.
//!
//! [`PromptCache::has_recorded`]: crate::media::PromptCache::has_recorded

pub mod engine;
mod neural;

pub use neural::NeuralWorker;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::audio::{read_wav_8k, write_wav_8k, AudioError};
pub use engine::{Choices, EngineChoice, Voice};

/// Speech must last at least this long (80 ms at 8 kHz) to count as spoken.
const MIN_VOICED: usize = 640;
/// |sample| above this is voiced (about −36 dBFS).
const VOICED: i16 = 500;
/// Longest text rendered (a store or product name, not a paragraph).
pub const MAX_TEXT: usize = 200;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TtsError {
    /// The engine cannot be run at all (not installed, not executable).
    #[error("text-to-speech engine {program:?} cannot run: {source}")]
    Engine {
        program: String,
        source: std::io::Error,
    },
    /// The engine exited with an error.
    #[error("text-to-speech engine {program:?} failed ({status}): {stderr}")]
    Failed {
        program: String,
        status: String,
        stderr: String,
    },
    /// `[tts]` asks for the neural voice and it is not installed.
    #[error("the neural text-to-speech voice does not load in {program:?} (pip install hibari-tts==0.2.1, or set [tts] engine = \"auto\" or \"espeak\")")]
    NeuralMissing { program: String },
    /// The engine ran but produced no speech for this text.
    #[error("the text-to-speech engine cannot speak {text:?} in {lang:?}: {reason}")]
    CannotRender {
        text: String,
        lang: String,
        reason: String,
    },
    #[error("locale {0:?} has no voice (have en, fr, ar, ur)")]
    NoVoice(String),
    #[error("tts cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Audio(#[from] AudioError),
}

/// The language part of a locale (`fr-CA` → `fr`), lower case.
pub fn lang(locale: &str) -> String {
    locale
        .split(['-', '_'])
        .next()
        .unwrap_or(locale)
        .to_ascii_lowercase()
}

/// Text as spoken: surrounding and repeated white space do not change it.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The name a merchant recording of `text` in `locale` goes by: `tts_` and
/// 16 hex digits of SHA-256 over the language and the normalised text,
/// whatever engine would render it. A prompt name (`[a-z0-9_]+`), so it goes
/// through the prompt cache's checks.
pub fn key(locale: &str, text: &str) -> String {
    hashed(&[lang(locale).as_bytes(), normalise(text).as_bytes()])
}

/// The name of `voice`'s rendering of `text` in `locale`: as [`key`], with
/// the voice ([`Voice::id`]) hashed first.
pub fn rendering_key(voice: Voice, locale: &str, text: &str) -> String {
    hashed(&[
        voice.id().as_bytes(),
        lang(locale).as_bytes(),
        normalise(text).as_bytes(),
    ])
}

/// The prompt names `text` in `locale` may be found under, preferred
/// first: the merchant recording ([`key`], to be taken from the prompt
/// directories only), then the renderings of the voices `choices` allows.
pub fn rendered_keys(choices: &Choices, locale: &str, text: &str) -> Vec<String> {
    let l = lang(locale);
    std::iter::once(key(&l, text))
        .chain(
            choices
                .candidates(&l)
                .into_iter()
                .map(|v| rendering_key(v, &l, text)),
        )
        .collect()
}

/// The prompt name to play for `text` in `locale`, if any: a merchant
/// recording wins, then the rendering of the first voice `choices` allows
/// that exists. A file lookup (at call setup), never a rendering.
pub fn find_rendered(
    prompts: &crate::media::PromptCache,
    choices: &Choices,
    locale: &str,
    text: &str,
) -> Option<String> {
    let mut keys = rendered_keys(choices, locale, text).into_iter();
    let recorded = keys.next()?;
    if prompts.has_recorded(locale, &recorded) {
        return Some(recorded);
    }
    keys.find(|k| prompts.has(locale, k))
}

/// `tts_` and 16 hex digits of SHA-256 over the parts, each ended by a 0.
fn hashed(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0]);
        }
        h.update(p);
    }
    let digest = h.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("tts_{hex}")
}

/// The engines behind a disk cache.
#[derive(Debug, Clone)]
pub struct Tts {
    cache_dir: PathBuf,
    choices: Choices,
    espeak: String,
    neural: NeuralWorker,
    /// Whether the neural engine ran at [`Tts::probe`].
    neural_ready: bool,
}

impl Tts {
    /// espeak-ng (from `PATH`) for every language, caching under `cache_dir`.
    pub fn espeak(cache_dir: impl Into<PathBuf>) -> Self {
        Self::new(cache_dir, Choices::espeak())
    }

    /// The engines `choices` names (programs `espeak-ng` and `hibari` from
    /// `PATH`); the neural one is used only after [`Tts::probe`] found it.
    pub fn new(cache_dir: impl Into<PathBuf>, choices: Choices) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            choices,
            espeak: "espeak-ng".into(),
            neural: NeuralWorker::new("python3"),
            neural_ready: false,
        }
    }

    /// Another program with espeak-ng's options (tests: a missing one).
    pub fn with_program(mut self, program: impl Into<String>) -> Self {
        self.espeak = program.into();
        self
    }

    /// Another Python for the neural worker (tests: a missing one).
    pub fn with_neural_program(mut self, python: impl Into<String>) -> Self {
        self.neural = NeuralWorker::new(python);
        self
    }

    /// Check, once at start, whether the neural voice is installed
    /// (blocking, tens of milliseconds; the model loads on first use). Not installed: an error when a language is set to `neural`;
    /// under `auto`, one warning and espeak-ng for those languages.
    pub fn probe(mut self) -> Result<Self, TtsError> {
        if !self.choices.wants_neural() {
            return Ok(self);
        }
        self.neural_ready = self.neural.installed();
        if self.neural_ready {
            tracing::info!(langs = ?engine::NEURAL_LANGS, "text-to-speech: the neural voice (hibari-tts) speaks these languages");
            return Ok(self);
        }
        let required = engine::NEURAL_LANGS
            .iter()
            .any(|l| self.choices.of(l) == EngineChoice::Neural);
        if required {
            return Err(TtsError::NeuralMissing {
                program: self.neural.program().to_string(),
            });
        }
        tracing::warn!(python = %self.neural.program(), "text-to-speech: the neural voice is not installed, English names are rendered by espeak-ng (pip install hibari-tts==0.2.1 for it)");
        Ok(self)
    }

    /// The voice that renders `locale` now.
    pub fn voice(&self, locale: &str) -> Result<Voice, TtsError> {
        let l = lang(locale);
        let espeak = Voice::espeak(&l).ok_or_else(|| TtsError::NoVoice(locale.to_string()))?;
        Ok(match self.choices.of(&l) {
            EngineChoice::Espeak => espeak,
            EngineChoice::Neural => Voice::Neural,
            EngineChoice::Auto if self.neural_ready => Voice::Neural,
            EngineChoice::Auto => espeak,
        })
    }

    /// The configured choice per language.
    pub fn choices(&self) -> &Choices {
        &self.choices
    }

    /// Render every `(field, text)` of an order (blocking). `Ok(None)`: all
    /// rendered or the engine is not installed (logged: calls go on without
    /// the names); `Ok(Some(reason))`: a text cannot be spoken — the reason
    /// names its field, never the text (names are personal data).
    pub fn prepare(&self, locale: &str, texts: &[(&'static str, String)]) -> Option<String> {
        for (field, text) in texts {
            match self.render(locale, text) {
                Ok(_) => {}
                Err(TtsError::CannotRender { lang, reason, .. }) => {
                    return Some(format!(
                        "{field}: the text-to-speech engine cannot speak it in {lang:?} ({reason})"
                    ))
                }
                Err(TtsError::Failed {
                    program, status, ..
                }) => {
                    return Some(format!(
                        "{field}: the text-to-speech engine {program} failed on it ({status})"
                    ))
                }
                Err(TtsError::NoVoice(l)) => {
                    return Some(format!("{field}: no text-to-speech voice for locale {l:?}"))
                }
                Err(e) => {
                    tracing::warn!(field, error = %e, "text-to-speech unavailable; the call goes on without this text");
                    return None;
                }
            }
        }
        None
    }

    /// Render each `(part, text)` of the script whole (blocking). A part
    /// that fails is logged and left to its prompts: the call still has
    /// the prompt sequence, so this never fails an order.
    pub fn render_phrases(&self, locale: &str, phrases: &[(String, String)]) {
        for (part, text) in phrases {
            if let Err(e) = self.render(locale, text) {
                tracing::warn!(part, error = %e, "a script part was not rendered whole; the call says it prompt by prompt");
            }
        }
    }

    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Where the rendering of `key` in `locale` lives.
    pub fn path(&self, locale: &str, key: &str) -> PathBuf {
        self.cache_dir.join(lang(locale)).join(format!("{key}.wav"))
    }

    /// Render `text` (blocking: run it on a blocking thread) unless cached;
    /// returns its prompt name ([`rendering_key`]).
    pub fn render(&self, locale: &str, text: &str) -> Result<String, TtsError> {
        let lang = lang(locale);
        let voice = self.voice(&lang)?;
        let text = normalise(text);
        let key = rendering_key(voice, &lang, &text);
        let out = self.path(&lang, &key);
        if out.is_file() {
            return Ok(key);
        }
        let cannot = |reason: &str| TtsError::CannotRender {
            text: text.clone(),
            lang: lang.clone(),
            reason: reason.to_string(),
        };
        if text.is_empty() || text.chars().count() > MAX_TEXT {
            return Err(cannot(&format!("must be 1 to {MAX_TEXT} characters")));
        }
        let dir = self.cache_dir.join(&lang);
        let cache = |source| TtsError::Cache {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(cache)?;
        // espeak-ng does not write the file when it has nothing to say: a
        // fresh name, so "no file" means "no speech".
        let raw_path = scratch(&dir, "render");
        let done = match voice {
            Voice::Espeak(v) => {
                let out = raw_path.display().to_string();
                engine::run(
                    &self.espeak,
                    &["-v", v, "-s", "160", "--stdin", "-w", &out],
                    &text,
                )
            }
            Voice::Neural => self.neural.render(&text, &raw_path),
        };
        if let Err(e) = done {
            let _ = std::fs::remove_file(&raw_path);
            return Err(e);
        }
        if !raw_path.is_file() {
            return Err(cannot("it produced no audio"));
        }
        let samples = read_wav_8k(&raw_path);
        let _ = std::fs::remove_file(&raw_path);
        let samples = trim(&samples?);
        let voiced = samples
            .iter()
            .filter(|s| s.unsigned_abs() > VOICED as u16)
            .count();
        if voiced < MIN_VOICED {
            return Err(cannot("it produced no speech"));
        }
        // Write beside the target, then rename: a reader never sees half a file.
        let tmp = scratch(&dir, "tts");
        write_wav_8k(&tmp, &samples)?;
        std::fs::rename(&tmp, &out).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            cache(e)
        })?;
        Ok(key)
    }
}

/// A file name in `dir` no other render (thread or process) uses.
fn scratch(dir: &Path, what: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{what}-{}-{n}.wav", std::process::id()))
}

/// Drop near-silence at both ends and keep a 40 ms tail, as the stock
/// prompts have (`prompts/generate.sh`), so joined prompts flow.
fn trim(s: &[i16]) -> Vec<i16> {
    let quiet = |x: &i16| x.unsigned_abs() <= 65;
    let start = s.iter().position(|x| !quiet(x)).unwrap_or(s.len());
    let end = s.iter().rposition(|x| !quiet(x)).map_or(start, |i| i + 1);
    let mut out = s[start..end].to_vec();
    out.extend(std::iter::repeat_n(0, 320));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_language_and_words_only() {
        assert_eq!(key("en", "Lawn  House "), key("en-GB", "Lawn House"));
        assert_ne!(key("en", "Lawn House"), key("fr", "Lawn House"));
        assert_ne!(key("en", "Lawn House"), key("en", "Lawn Houses"));
        let k = key("ur", "لان ہاؤس");
        assert_eq!(k.len(), 4 + 16);
        assert!(k
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    }

    #[test]
    fn renders_once_to_8khz_speech_and_refuses_what_it_cannot_speak() {
        let dir = tempfile::tempdir().unwrap();
        let tts = Tts::espeak(dir.path());
        let k = tts
            .render("en", "Lawn House")
            .expect("espeak-ng renders a name");
        let path = tts.path("en", &k);
        let samples = read_wav_8k(&path).unwrap();
        let secs = samples.len() as f64 / 8000.0;
        assert!((0.3..3.0).contains(&secs), "{secs} s");
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(tts.render("en", "Lawn  House").unwrap(), k);
        let again = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(modified, again, "cached, not rendered twice");
        for locale in ["fr", "ar", "ur"] {
            tts.render(locale, "Lawn House").expect(locale);
        }
        let e = tts.render("en", "\u{e000}\u{e001}").unwrap_err();
        assert!(matches!(e, TtsError::CannotRender { .. }), "{e}");
        let why = tts
            .prepare(
                "en",
                &[
                    ("store", "Lawn House".into()),
                    ("customer_name", "\u{e000}".into()),
                ],
            )
            .expect("a reason");
        assert!(why.starts_with("customer_name:"), "{why}");
        assert!(
            !why.contains('\u{e000}'),
            "the reason never carries the text"
        );
        assert!(matches!(
            tts.render("de", "Haus"),
            Err(TtsError::NoVoice(_))
        ));
        let none = Tts::espeak(dir.path()).with_program("/nonexistent/espeak");
        assert!(matches!(
            none.render("en", "Something new"),
            Err(TtsError::Engine { .. })
        ));
    }

    /// `auto` renders English with the neural voice (installed by
    /// `scripts/install-deps`), under a key of its own; French stays with
    /// espeak-ng; without the neural engine `auto` falls back to espeak-ng
    /// and `neural` refuses to start.
    #[test]
    fn auto_takes_the_neural_voice_for_english_and_falls_back_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let auto = Tts::new(dir.path(), Choices::default())
            .probe()
            .expect("auto never fails to start");
        assert_eq!(
            auto.voice("en-GB").unwrap(),
            Voice::Neural,
            "hibari-tts must be installed (scripts/install-deps)"
        );
        assert_eq!(auto.voice("fr").unwrap(), Voice::Espeak("fr"));
        let k = auto
            .render("en", "Lawn House")
            .expect("the neural voice renders");
        assert_eq!(k, rendering_key(Voice::Neural, "en", "Lawn House"));
        let secs = read_wav_8k(&auto.path("en", &k)).unwrap().len() as f64 / 8000.0;
        assert!((0.3..3.0).contains(&secs), "{secs} s");
        let espeak = Tts::espeak(dir.path());
        let e = espeak.render("en", "Lawn House").unwrap();
        assert_ne!(e, k, "each voice has its own cache entry");
        assert_eq!(
            rendered_keys(auto.choices(), "en-US", "Lawn  House"),
            [key("en", "Lawn House"), k.clone(), e.clone()]
        );
        assert_eq!(
            rendered_keys(espeak.choices(), "en", "Lawn House"),
            [key("en", "Lawn House"), e]
        );
        assert!(matches!(
            auto.render("en", "\u{e000}\u{e001}"),
            Err(TtsError::CannotRender { .. })
        ));

        let missing = "/nonexistent/hibari";
        let fallback = Tts::new(dir.path(), Choices::default())
            .with_neural_program(missing)
            .probe()
            .expect("auto starts without the neural engine");
        assert_eq!(fallback.voice("en").unwrap(), Voice::Espeak("en-us"));
        let mut neural = Choices::espeak();
        neural.per_lang.insert("en".into(), EngineChoice::Neural);
        let e = Tts::new(dir.path(), neural)
            .with_neural_program(missing)
            .probe()
            .unwrap_err();
        assert!(matches!(e, TtsError::NeuralMissing { .. }), "{e}");
    }
}
