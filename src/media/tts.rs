//! Text no stock prompt covers — a store's, a product's or a customer's
//! name — rendered by espeak-ng into a prompt WAV (issue #13).
//!
//! Rendering happens when an order arrives (the API's create handler, on a
//! blocking thread), never on a call's media path: the call only looks the
//! finished file up. Files are cached on disk by content:
//! `<cache_dir>/<lang>/tts_<16 hex of SHA-256(lang, text)>.wav`, 8 kHz mono
//! 16-bit PCM (what G.711 encodes; [`crate::media::PromptCache`] reads it).
//! The same text in the same language is rendered once, for every order.
//!
//! A merchant recording replaces a rendering: a file with the same key under
//! `prompts/<lang>/` wins, because the prompt lookup searches the prompt
//! directory before the cache ([`PromptCache::with_dynamic`]). The key of a
//! text is [`key`]; `GET /v1/orders/{id}` does not show it, the README
//! explains how to compute it.
//!
//! A text the engine cannot speak (espeak-ng writes no file, or no speech:
//! e.g. only symbols or private-use characters) is an error naming it, which
//! the caller turns into a failed preparation of the order, not a failed call.
//! espeak-ng missing altogether is a different error ([`TtsError::Engine`]):
//! the daemon then keeps calling without the dynamic text.
//!
//! [`PromptCache::with_dynamic`]: crate::media::PromptCache::with_dynamic

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::audio::{read_wav_8k, write_wav_8k, AudioError};

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

/// The espeak-ng voice for a language, as `prompts/generate.sh` uses.
fn voice(lang: &str) -> Option<&'static str> {
    match lang {
        "en" => Some("en-us"),
        "fr" => Some("fr"),
        "ar" => Some("ar"),
        "ur" => Some("ur"),
        _ => None,
    }
}

/// Text as spoken: surrounding and repeated white space do not change it.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The prompt name of `text` in `locale`: `tts_` and 16 hex digits of
/// SHA-256 over the language and the normalised text. A prompt name
/// (`[a-z0-9_]+`), so it goes through the prompt cache's checks.
pub fn key(locale: &str, text: &str) -> String {
    let mut h = Sha256::new();
    h.update(lang(locale).as_bytes());
    h.update([0]);
    h.update(normalise(text).as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("tts_{hex}")
}

/// espeak-ng behind a disk cache.
#[derive(Debug, Clone)]
pub struct Tts {
    cache_dir: PathBuf,
    program: String,
}

impl Tts {
    /// espeak-ng (from `PATH`) caching under `cache_dir`.
    pub fn espeak(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            program: "espeak-ng".into(),
        }
    }

    /// Another program with espeak-ng's options (tests: a missing one).
    pub fn with_program(mut self, program: impl Into<String>) -> Self {
        self.program = program.into();
        self
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

    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Where the rendering of `key` in `locale` lives.
    pub fn path(&self, locale: &str, key: &str) -> PathBuf {
        self.cache_dir.join(lang(locale)).join(format!("{key}.wav"))
    }

    /// Render `text` (blocking: run it on a blocking thread) unless cached;
    /// returns its prompt name.
    pub fn render(&self, locale: &str, text: &str) -> Result<String, TtsError> {
        let lang = lang(locale);
        let voice = voice(&lang).ok_or_else(|| TtsError::NoVoice(locale.to_string()))?;
        let text = normalise(text);
        let key = key(&lang, &text);
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
        self.run(voice, &text, &raw_path)?;
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

    fn run(&self, voice: &str, text: &str, out: &Path) -> Result<(), TtsError> {
        let engine = |source| TtsError::Engine {
            program: self.program.clone(),
            source,
        };
        // The text goes through stdin, never the command line: a name
        // starting with `-` cannot become an option.
        let mut child = Command::new(&self.program)
            .args(["-v", voice, "-s", "160", "--stdin", "-w"])
            .arg(out)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(engine)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(text.as_bytes()).map_err(engine)?;
        }
        let done = child.wait_with_output().map_err(engine)?;
        if !done.status.success() {
            return Err(TtsError::CannotRender {
                text: text.to_string(),
                lang: voice.to_string(),
                reason: format!(
                    "{} exited with {}: {}",
                    self.program,
                    done.status,
                    String::from_utf8_lossy(&done.stderr).trim()
                ),
            });
        }
        Ok(())
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
}
