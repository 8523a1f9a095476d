//! `[tts]`: which text-to-speech engine renders each language's names
//! (issue #13; the engines are [`crate::media::tts::engine`]).
//!
//! ```toml
//! [tts]
//! engine = "auto"                 # auto | espeak | neural
//! locale = { en = "neural" }      # per language, over `engine`
//! python = "python3"              # the interpreter with hibari-tts installed
//! whole_parts = true              # the neural voice says each script part whole
//! ```
//!
//! `auto` (the default): the neural English voice when it is installed,
//! else espeak-ng with one warning at start. `neural`: the neural voice or
//! the daemon does not start. Only English has a neural voice: `engine =
//! "neural"` leaves fr/ar/ur with espeak-ng, and `locale.fr = "neural"` is
//! refused naming the key.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{invalid, ConfigError};
use crate::media::tts::{Choices, EngineChoice};

/// `[tts]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TtsConfig {
    /// The engine for every language (`auto`, `espeak`, `neural`).
    pub engine: EngineChoice,
    /// Per language (`en`, `fr`, `ar`, `ur`), over `engine`.
    pub locale: BTreeMap<String, EngineChoice>,
    /// The Python that runs the neural voice's worker (hibari-tts installed
    /// in it); under systemd, an absolute path such as a venv's.
    pub python: String,
    /// Where the neural voice speaks, render each script part whole when
    /// the order arrives and play that instead of the part's prompts
    /// (`ivr::script::Phrases`); `false`: prompt by prompt everywhere.
    pub whole_parts: bool,
}

impl Default for TtsConfig {
    fn default() -> Self {
        Self {
            engine: EngineChoice::Auto,
            locale: BTreeMap::new(),
            python: "python3".into(),
            whole_parts: true,
        }
    }
}

impl TtsConfig {
    /// The validated per-language choice.
    pub fn choices(&self) -> Result<Choices, ConfigError> {
        let choices = Choices {
            default: self.engine,
            per_lang: self.locale.clone(),
        };
        choices
            .check()
            .map_err(|(key, reason)| invalid(&key, reason))?;
        if self.python.trim().is_empty() {
            return Err(invalid("tts.python", "must name a Python interpreter"));
        }
        Ok(choices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn err(toml: &str) -> String {
        Config::from_toml(toml).unwrap_err().to_string()
    }

    #[test]
    fn engine_per_language_and_errors_name_the_key() {
        let cfg = Config::from_toml("").unwrap();
        assert_eq!(cfg.tts.engine, EngineChoice::Auto);
        let cfg = Config::from_toml(
            "[tts]\nengine = \"espeak\"\nlocale = { en = \"neural\", ur = \"espeak\" }\n",
        )
        .unwrap();
        let c = cfg.tts.choices().unwrap();
        assert_eq!(c.of("en"), EngineChoice::Neural);
        assert_eq!(c.of("fr"), EngineChoice::Espeak);
        let e = err("[tts]\nengine = \"festival\"\n");
        assert!(e.contains("engine") && e.contains("festival"), "{e}");
        let e = err("[tts]\nlocale = { fr = \"neural\" }\n");
        assert!(e.contains("`tts.locale.fr`"), "{e}");
        let e = err("[tts]\nlocale = { de = \"espeak\" }\n");
        assert!(e.contains("`tts.locale.de`"), "{e}");
        let e = err("[tts]\npython = \" \"\n");
        assert!(e.contains("`tts.python`"), "{e}");
        let e = err("[tts]\nvoice = \"emma\"\n");
        assert!(e.contains("voice"), "{e}");
    }
}
