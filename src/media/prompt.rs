//! Prompt files: `prompts/<locale>/<name>.wav`, loaded once, shared.
//!
//! Lookup order for `(locale, name)`:
//! 1. the merchant override dir, `<override>/<locale>/<name>.wav`
//! 2. the stock dir, `<prompts>/<locale>/<name>.wav`
//! 3. both again with the language part of the locale (`fr-CA` → `fr`)
//! 4. both again with `en` — logged once per (locale, name), because a
//!    caller hearing English in a French flow is a content bug to fix.
//!
//! With a dynamic directory (the TTS cache, [`crate::media::tts`]), it is
//! searched after the other two at each step, so a merchant recording
//! named like a rendering (`tts_<hash>.wav`) replaces it.
//!
//! Files may be 16-bit PCM at any rate (decoded and resampled to 8 kHz by
//! [`crate::audio::read_wav_8k`]) or 8 kHz G.711 WAV (µ-law/A-law, format
//! tags 7/6, how the stock prompts are stored). Samples are decoded once
//! and cached as `Arc<[i16]>`, so a prompt
//! played in a thousand calls is one allocation. The cache lock is taken
//! per lookup, at call setup, never per packet.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::audio::{read_wav_8k, AudioError};
use crate::media::wavlaw::{self, WavLawError};
use crate::media::PlayItem;

/// Locale every flow can fall back to.
pub const FALLBACK_LOCALE: &str = "en";

/// Why a prompt could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    #[error("prompt {name:?} for locale {locale:?} not found; looked for {}", list(.tried))]
    Missing {
        locale: String,
        name: String,
        tried: Vec<PathBuf>,
    },
    #[error("prompt name {0:?} is not [a-z0-9_]+")]
    BadName(String),
    #[error("locale {0:?} is not [A-Za-z_-]+")]
    BadLocale(String),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    G711Wav(#[from] WavLawError),
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// (locale, name) as asked for.
type Key = (String, String);

/// Shared, thread-safe prompt cache. Wrap in `Arc` and hand to every call.
#[derive(Debug)]
pub struct PromptCache {
    dir: PathBuf,
    override_dir: Option<PathBuf>,
    dynamic_dir: Option<PathBuf>,
    cache: Mutex<HashMap<Key, Arc<[i16]>>>,
    warned: Mutex<HashSet<Key>>,
}

impl PromptCache {
    /// Stock prompts under `dir` (config `media.prompts_dir`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            override_dir: None,
            dynamic_dir: None,
            cache: Mutex::new(HashMap::new()),
            warned: Mutex::new(HashSet::new()),
        }
    }

    /// Merchant recordings with the same layout; they win over stock ones.
    pub fn with_override(mut self, dir: impl Into<PathBuf>) -> Self {
        self.override_dir = Some(dir.into());
        self
    }

    /// Rendered text (the TTS cache, same layout), searched last.
    pub fn with_dynamic(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dynamic_dir = Some(dir.into());
        self
    }

    /// Whether a prompt exists for `locale` or its language, without loading
    /// it (the scheduler asks this for rendered names before a call).
    pub fn has(&self, locale: &str, name: &str) -> bool {
        validate(locale, name).is_ok()
            && self.resolve(locale, name).is_ok_and(|(_, used)| {
                used != FALLBACK_LOCALE || is_same_language(locale, FALLBACK_LOCALE)
            })
    }

    /// Whether `name` is a recording in the merchant or stock directories
    /// (for `locale` or its language), the dynamic one left out: a merchant's
    /// `tts_<hash>` recording, never an old rendering that happens to share
    /// its name (renderings before the voice was part of the key did).
    pub fn has_recorded(&self, locale: &str, name: &str) -> bool {
        if validate(locale, name).is_err() {
            return false;
        }
        let file = format!("{name}.wav");
        let lang = language(locale);
        self.override_dir
            .iter()
            .chain(std::iter::once(&self.dir))
            .any(|root| {
                root.join(locale).join(&file).is_file() || root.join(lang).join(&file).is_file()
            })
    }

    /// The samples of one prompt (8 kHz mono).
    pub fn get(&self, locale: &str, name: &str) -> Result<Arc<[i16]>, PromptError> {
        validate(locale, name)?;
        let key = (locale.to_owned(), name.to_owned());
        if let Some(hit) = lock(&self.cache).get(&key) {
            return Ok(hit.clone());
        }
        let (path, used_locale) = self.resolve(locale, name)?;
        if used_locale == FALLBACK_LOCALE && !is_same_language(locale, FALLBACK_LOCALE) {
            let first = lock(&self.warned).insert(key.clone());
            if first {
                tracing::warn!(locale, name, path = %path.display(), "prompt missing for locale, falling back to English");
            }
        }
        let samples: Arc<[i16]> = match wavlaw::load(&path)? {
            Some(s) => s.into(),
            None => read_wav_8k(&path)?.into(),
        };
        lock(&self.cache).insert(key, samples.clone());
        Ok(samples)
    }

    /// Several prompts as play items, in order.
    pub fn items<S: AsRef<str>>(
        &self,
        locale: &str,
        names: &[S],
    ) -> Result<Vec<PlayItem>, PromptError> {
        names
            .iter()
            .map(|n| self.get(locale, n.as_ref()).map(PlayItem::Prompt))
            .collect()
    }

    fn resolve(&self, locale: &str, name: &str) -> Result<(PathBuf, String), PromptError> {
        let file = format!("{name}.wav");
        let lang = language(locale);
        let mut locales = vec![locale];
        if lang != locale {
            locales.push(lang);
        }
        if lang != FALLBACK_LOCALE {
            locales.push(FALLBACK_LOCALE);
        }
        let mut tried = Vec::new();
        for loc in locales {
            let roots = self
                .override_dir
                .iter()
                .chain(std::iter::once(&self.dir))
                .chain(self.dynamic_dir.iter());
            for root in roots {
                let p = root.join(loc).join(&file);
                if p.is_file() {
                    return Ok((p, loc.to_owned()));
                }
                tried.push(p);
            }
        }
        Err(PromptError::Missing {
            locale: locale.to_owned(),
            name: name.to_owned(),
            tried,
        })
    }

    /// Root of the stock prompts.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves a usable map; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn language(locale: &str) -> &str {
    locale.split(['-', '_']).next().unwrap_or(locale)
}

fn is_same_language(a: &str, b: &str) -> bool {
    language(a).eq_ignore_ascii_case(language(b))
}

/// The text of every stock prompt of `lang`: `<dir>/<lang>/texts.tsv`,
/// `name|text` lines written by `prompts/generate.sh`. Missing or
/// unreadable: empty (parts are then said prompt by prompt).
pub fn read_texts(dir: &Path, lang: &str) -> HashMap<String, String> {
    let path = dir.join(lang).join("texts.tsv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

/// Names and locales become path components: refuse anything that could
/// climb out of the prompt directory.
fn validate(locale: &str, name: &str) -> Result<(), PromptError> {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !name_ok {
        return Err(PromptError::BadName(name.to_owned()));
    }
    let loc_ok = !locale.is_empty()
        && locale.len() <= 16
        && locale
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_');
    if !loc_ok {
        return Err(PromptError::BadLocale(locale.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, locale: &str, name: &str, value: i16) {
        let d = dir.join(locale);
        std::fs::create_dir_all(&d).unwrap();
        crate::audio::write_wav_8k(&d.join(format!("{name}.wav")), &[value; 80]).unwrap();
    }

    #[test]
    fn locale_then_language_then_english_and_override_wins() {
        let stock = tempfile::tempdir().unwrap();
        let merchant = tempfile::tempdir().unwrap();
        write(stock.path(), "en", "greeting", 1);
        write(stock.path(), "fr", "greeting", 2);
        write(stock.path(), "en", "goodbye", 3);
        write(merchant.path(), "fr", "goodbye", 4);
        let c = PromptCache::new(stock.path()).with_override(merchant.path());
        assert_eq!(c.get("fr", "greeting").unwrap()[0], 2);
        assert_eq!(c.get("fr-CA", "greeting").unwrap()[0], 2);
        assert_eq!(c.get("ur", "greeting").unwrap()[0], 1);
        assert_eq!(c.get("fr", "goodbye").unwrap()[0], 4);
        assert_eq!(c.get("en", "goodbye").unwrap()[0], 3);
        // Cached: the same allocation comes back.
        let a = c.get("fr", "greeting").unwrap();
        let b = c.get("fr", "greeting").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(c.items("fr", &["greeting", "goodbye"]).unwrap().len(), 2);
    }

    #[test]
    fn rendered_text_is_found_after_stock_and_a_recording_replaces_it() {
        let stock = tempfile::tempdir().unwrap();
        let tts = tempfile::tempdir().unwrap();
        write(tts.path(), "fr", "tts_00aa", 7);
        write(tts.path(), "fr", "tts_00bb", 8);
        write(stock.path(), "fr", "tts_00bb", 9);
        let c = PromptCache::new(stock.path()).with_dynamic(tts.path());
        assert_eq!(c.get("fr", "tts_00aa").unwrap()[0], 7);
        assert_eq!(c.get("fr", "tts_00bb").unwrap()[0], 9, "the recording wins");
        assert!(c.has("fr-FR", "tts_00aa"));
        assert!(
            !c.has("ur", "tts_00aa"),
            "another language's rendering is not used"
        );
        assert!(!c.has("fr", "../x"));
    }

    #[test]
    fn missing_prompt_error_names_the_files() {
        let stock = tempfile::tempdir().unwrap();
        let c = PromptCache::new(stock.path());
        let e = c.get("fr", "nope").unwrap_err().to_string();
        assert!(e.contains("\"nope\""), "{e}");
        assert!(
            e.contains("fr/nope.wav") && e.contains("en/nope.wav"),
            "{e}"
        );
    }

    #[test]
    fn path_traversal_refused() {
        let c = PromptCache::new("prompts");
        assert!(matches!(
            c.get("en", "../etc/passwd"),
            Err(PromptError::BadName(_))
        ));
        assert!(matches!(
            c.get("../x", "greeting"),
            Err(PromptError::BadLocale(_))
        ));
    }

    #[test]
    fn corrupt_file_is_an_audio_error() {
        let stock = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(stock.path().join("en")).unwrap();
        std::fs::write(stock.path().join("en/greeting.wav"), b"not a wav").unwrap();
        let c = PromptCache::new(stock.path());
        assert!(matches!(
            c.get("en", "greeting"),
            Err(PromptError::Audio(_))
        ));
    }
}
