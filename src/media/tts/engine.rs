//! Which text-to-speech engine speaks which language, and running each
//! (issue #13, "Voices the customer understands").
//!
//! Two engines, both offline: **espeak-ng** (every language we call in)
//! and a **neural English voice**, hibari-tts from PyPI (Apache-2.0,
//! distilled from Kokoro-82M, the `heart` voice inside the wheel, onnxruntime,
//! no download at run time). Through G.711 at 8 kHz an off-the-shelf
//! recogniser recovers about three times as many words of the English
//! confirmation script from the neural voice as from espeak-ng
//! (`tests/voice_intelligibility.rs`, docs/decisions.md "Voices"), so English
//! goes to it when it is installed. No offline neural voice speaks Urdu,
//! Arabic or French; those stay with espeak-ng.
//!
//! espeak-ng runs as a subprocess per text, fed on stdin (a name starting
//! with `-` cannot become an option); the neural voice is one long-lived
//! worker ([`super::NeuralWorker`]). Each writes a WAV that [`super::Tts`]
//! resamples, trims and caches. The cache key includes the voice ([`Voice::id`]), so
//! switching engines never plays an old engine's file as the new one's.

use std::io::Write;
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::TtsError;

/// The languages the neural voice speaks.
pub const NEURAL_LANGS: [&str; 1] = ["en"];
/// hibari's voice inside the wheel; its other voices download on first
/// use, which a server must never do.
pub const NEURAL_VOICE: &str = "heart";
/// Languages with an espeak-ng voice (and stock prompts).
pub const LANGS: [&str; 4] = ["en", "fr", "ar", "ur"];

/// `[tts] engine` and each `[tts.locale]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// The neural voice where it speaks the language and is installed,
    /// else espeak-ng (one warning at start).
    #[default]
    Auto,
    Espeak,
    /// The neural voice where it speaks the language; the daemon does not
    /// start without it.
    Neural,
}

/// One voice of one engine: what a rendering's cache key includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    /// An espeak-ng voice name (`en-us`, `fr`, `ar`, `ur`).
    Espeak(&'static str),
    /// hibari's [`NEURAL_VOICE`].
    Neural,
}

impl Voice {
    /// `espeak-ng:en-us`, `hibari:heart`.
    pub fn id(self) -> String {
        match self {
            Voice::Espeak(v) => format!("espeak-ng:{v}"),
            Voice::Neural => format!("hibari:{NEURAL_VOICE}"),
        }
    }

    /// The espeak-ng voice of a language, as `prompts/generate.sh` uses.
    pub fn espeak(lang: &str) -> Option<Voice> {
        match lang {
            "en" => Some(Voice::Espeak("en-us")),
            "fr" => Some(Voice::Espeak("fr")),
            "ar" => Some(Voice::Espeak("ar")),
            "ur" => Some(Voice::Espeak("ur")),
            _ => None,
        }
    }
}

/// The configured choice per language (`[tts]`); validated by the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choices {
    pub default: EngineChoice,
    /// Per language (`en`, `fr`, …), over `default`.
    pub per_lang: std::collections::BTreeMap<String, EngineChoice>,
}

impl Choices {
    /// Everything by espeak-ng.
    pub fn espeak() -> Choices {
        Choices {
            default: EngineChoice::Espeak,
            per_lang: Default::default(),
        }
    }

    /// The choice for a language; a language the neural voice does not
    /// speak is always espeak-ng's.
    pub fn of(&self, lang: &str) -> EngineChoice {
        if !NEURAL_LANGS.contains(&lang) {
            return EngineChoice::Espeak;
        }
        self.per_lang.get(lang).copied().unwrap_or(self.default)
    }

    /// Whether any language may use the neural voice.
    pub fn wants_neural(&self) -> bool {
        NEURAL_LANGS
            .iter()
            .any(|l| self.of(l) != EngineChoice::Espeak)
    }

    /// The voices that may have rendered text of `lang` under this choice,
    /// preferred first: what the call looks up (it never probes engines).
    pub fn candidates(&self, lang: &str) -> Vec<Voice> {
        let espeak = Voice::espeak(lang);
        match self.of(lang) {
            EngineChoice::Espeak => espeak.into_iter().collect(),
            EngineChoice::Neural => vec![Voice::Neural],
            EngineChoice::Auto => std::iter::once(Voice::Neural).chain(espeak).collect(),
        }
    }

    /// A per-language entry the engines cannot honour, as (key, reason).
    pub fn check(&self) -> Result<(), (String, String)> {
        for (lang, choice) in &self.per_lang {
            let key = format!("tts.locale.{lang}");
            if !LANGS.contains(&lang.as_str()) {
                return Err((key, format!("no voice for {lang:?} (have {LANGS:?})")));
            }
            if *choice == EngineChoice::Neural && !NEURAL_LANGS.contains(&lang.as_str()) {
                return Err((
                    key,
                    format!("the neural voice speaks only {NEURAL_LANGS:?}; use \"espeak\""),
                ));
            }
        }
        Ok(())
    }
}

/// Run `program` with `args`, `text` on stdin, waiting for it; it is to
/// write its WAV where the args say.
pub fn run(program: &str, args: &[&str], text: &str) -> Result<(), TtsError> {
    let engine = |source| TtsError::Engine {
        program: program.to_string(),
        source,
    };
    let mut child = Command::new(program)
        .args(args)
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
        return Err(TtsError::Failed {
            program: program.to_string(),
            status: done.status.to_string(),
            stderr: String::from_utf8_lossy(&done.stderr).trim().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_per_language() {
        let auto = Choices::default();
        assert_eq!(
            auto.candidates("en"),
            [Voice::Neural, Voice::Espeak("en-us")]
        );
        assert_eq!(auto.candidates("fr"), [Voice::Espeak("fr")]);
        assert!(auto.wants_neural());
        let esp = Choices::espeak();
        assert_eq!(esp.candidates("en"), [Voice::Espeak("en-us")]);
        assert!(!esp.wants_neural());
        let mut mixed = Choices::espeak();
        mixed.per_lang.insert("en".into(), EngineChoice::Neural);
        assert_eq!(mixed.candidates("en"), [Voice::Neural]);
        assert_eq!(mixed.of("ur"), EngineChoice::Espeak);
        assert!(mixed.check().is_ok());
        mixed.per_lang.insert("fr".into(), EngineChoice::Neural);
        assert_eq!(mixed.check().unwrap_err().0, "tts.locale.fr");
        let mut bad = Choices::default();
        bad.per_lang.insert("de".into(), EngineChoice::Espeak);
        assert_eq!(bad.check().unwrap_err().0, "tts.locale.de");
        assert_ne!(Voice::Neural.id(), Voice::Espeak("en-us").id());
    }
}
