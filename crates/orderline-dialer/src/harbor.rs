//! The safe-harbor rule as a sans-IO decision: what happens to a live
//! customer who answers while no agent is free.
//!
//! US FTC TSR 16 CFR 310.4(b)(4)(iii) and FCC 47 CFR 64.1200(a)(7)(i): a call
//! is *abandoned* unless the customer is connected to a person within 2 s of
//! their completed greeting; an abandoned call must play, within those 2 s,
//! a recorded message with the seller's name and a number the customer can
//! call back (47 CFR 64.1200(a)(7)(i)(A)); it counts toward the 3 % cap.
//! And 16 CFR 310.4(b)(4)(i), 47 CFR 64.1200(a)(6): an unanswered call
//! rings at least 15 s before the dialler gives up.
//!
//! [`HarborWait`] holds one waiting customer: fed "an agent is free" and
//! timeouts with their timestamps, it answers [`Routing::Connect`] while the
//! budget lasts, else [`Routing::PlayMessage`] at the last instant that still
//! gets the message's first audio to the customer inside the 2 s. It never
//! reads a clock; the caller owns the timer ([`HarborWait::deadline`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The window from the customer's answer to a person or the message
/// (16 CFR 310.4(b)(4)(iii)).
pub const SAFE_HARBOR: Duration = Duration::from_secs(2);
/// The shortest ring before a no-answer give-up (16 CFR 310.4(b)(1)(iv),
/// 47 CFR 64.1200(a)(6)); config refuses less.
pub const MIN_RING: Duration = Duration::from_secs(15);
/// Time from "play" to the message's first packet at the customer (media
/// start-up plus one jitter buffer); the decision is taken this much
/// before the 2 s run out so the customer *hears* it within them.
pub const DEFAULT_PLAYBACK_LEAD: Duration = Duration::from_millis(300);
/// A customer who answers and says nothing is routed as `unknown` (to a
/// person) after this much silence, early enough that an agent or the
/// message still reaches them inside the 2 s window, which runs from the
/// answer when there was no greeting: the window, less the message's
/// playback lead, less 400 ms for the first packet's arrival and the
/// routing. (`app_amd`'s 2.5 s would always be too late.) The live lines'
/// detector uses it, and the simulator models it.
pub const LIVE_INITIAL_SILENCE: Duration = SAFE_HARBOR
    .saturating_sub(DEFAULT_PLAYBACK_LEAD)
    .saturating_sub(Duration::from_millis(400));
/// The message when a mode's `safe_harbor.messages` has none for the
/// customer's locale: the two facts the rule requires, nothing else.
pub const DEFAULT_MESSAGE: &str =
    "This is {seller}. Sorry we could not connect you. Please call us back at {number}.";

/// Most characters of a seller name (spoken in ~2 s of a short message).
const MAX_SELLER_CHARS: usize = 80;
/// E.164: at most 15 digits; 7 is the shortest national number in use.
const NUMBER_DIGITS: std::ops::RangeInclusive<usize> = 7..=15;

/// `[dialer.modes.safe_harbor]`: what an abandoned customer hears.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SafeHarborConfig {
    /// The seller's name as the customer knows it.
    pub seller_name: String,
    /// A number the customer can call back (digits, `+`, spaces, `-`, `()`).
    pub callback_number: String,
    /// Message per locale (`"en"`, `"ur"`, …) with `{seller}` and `{number}`
    /// placeholders; locales without one get [`DEFAULT_MESSAGE`].
    #[serde(default)]
    pub messages: BTreeMap<String, String>,
}

/// A safe-harbor setting that breaks the rule; `field` is the key below
/// `safe_harbor` (`seller_name`, `callback_number`, `messages.<locale>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HarborError {
    #[error("{field}: must be 1 to {MAX_SELLER_CHARS} characters (the seller's name is required by 47 CFR 64.1200(a)(7)(i)(A))")]
    SellerName { field: String },
    #[error("{field}: {value:?} must be 7 to 15 digits, optionally with + ( ) - and spaces")]
    CallbackNumber { field: String, value: String },
    #[error(
        "{field}: the message must contain {{number}} and {{seller}} (the rule requires both)"
    )]
    Message { field: String },
}

impl HarborError {
    /// The key below `safe_harbor` at fault.
    pub fn field(&self) -> &str {
        match self {
            Self::SellerName { field }
            | Self::CallbackNumber { field, .. }
            | Self::Message { field } => field,
        }
    }
}

impl SafeHarborConfig {
    /// Check the two facts the rule requires and every message template.
    pub fn validate(&self) -> Result<(), HarborError> {
        let seller = self.seller_name.trim();
        if seller.is_empty() || seller.chars().count() > MAX_SELLER_CHARS {
            return Err(HarborError::SellerName {
                field: "seller_name".into(),
            });
        }
        let n = &self.callback_number;
        let digits = n.chars().filter(char::is_ascii_digit).count();
        let shape_ok = n
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
            && n.chars().filter(|c| *c == '+').count() <= 1
            && (!n.contains('+') || n.trim_start().starts_with('+'));
        if !shape_ok || !NUMBER_DIGITS.contains(&digits) {
            return Err(HarborError::CallbackNumber {
                field: "callback_number".into(),
                value: n.clone(),
            });
        }
        for (locale, m) in &self.messages {
            if !(m.contains("{seller}") && m.contains("{number}")) {
                return Err(HarborError::Message {
                    field: format!("messages.{locale}"),
                });
            }
        }
        Ok(())
    }

    /// The text to speak to a customer of `locale` (its own template, else
    /// its language's, e.g. `ur` for `ur-PK`, else [`DEFAULT_MESSAGE`]).
    pub fn message(&self, locale: &str) -> String {
        let lang = locale.split(['-', '_']).next().unwrap_or(locale);
        let template = self
            .messages
            .get(locale)
            .or_else(|| self.messages.get(lang))
            .map(String::as_str)
            .unwrap_or(DEFAULT_MESSAGE);
        template
            .replace("{seller}", self.seller_name.trim())
            .replace("{number}", self.callback_number.trim())
    }
}

/// What to do with the waiting customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// Bridge to the free agent now.
    Connect {
        /// Answer to connect, for the record (≤ the 2 s window).
        waited: Duration,
    },
    /// Keep the customer (silence or comfort noise) until an agent frees or
    /// [`HarborWait::deadline`] passes.
    Wait { until: Duration },
    /// Start the safe-harbor message now, then hang up; the call is
    /// abandoned and its order goes back to its queue.
    PlayMessage {
        /// Answer to the message's first audio, as the customer hears it.
        heard_after: Duration,
    },
}

/// One answered live customer without an agent, on injected time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarborWait {
    answered_at: Duration,
    lead: Duration,
    window: Duration,
    done: Option<Routing>,
}

impl HarborWait {
    /// A customer whose 2 s window starts at `answered_at`, with the default
    /// window and playback lead. The caller picks the start: the answer when
    /// AMD is off or the customer says nothing, the end of their greeting
    /// when AMD heard one (16 CFR 310.4(b)(4)(i): "within two seconds after
    /// the completed greeting"); AMD's listening time after that counts.
    pub fn new(answered_at: Duration) -> HarborWait {
        HarborWait::with(answered_at, SAFE_HARBOR, DEFAULT_PLAYBACK_LEAD)
    }

    /// Any window and lead (a stricter policy may shorten the window; it
    /// can never lengthen it past [`SAFE_HARBOR`]).
    pub fn with(answered_at: Duration, window: Duration, lead: Duration) -> HarborWait {
        HarborWait {
            answered_at,
            lead,
            window: window.min(SAFE_HARBOR),
            done: None,
        }
    }

    /// The last instant at which an agent may still take the customer, and
    /// at which the message must start so it is heard within the window.
    pub fn deadline(&self) -> Duration {
        self.answered_at + self.window.saturating_sub(self.lead)
    }

    /// The decision once made (connect or message), for the record.
    pub fn outcome(&self) -> Option<Routing> {
        self.done
    }

    /// Decide at `now` given whether an agent is free at this instant:
    /// connect while the budget lasts, message once it is spent, else wait.
    /// After a decision, it is repeated (idempotent on late events).
    pub fn poll(&mut self, now: Duration, agent_free: bool) -> Routing {
        if let Some(done) = self.done {
            return done;
        }
        let deadline = self.deadline();
        let r = if agent_free && now <= deadline {
            Routing::Connect {
                waited: now.saturating_sub(self.answered_at),
            }
        } else if now >= deadline {
            Routing::PlayMessage {
                heard_after: now.saturating_sub(self.answered_at) + self.lead,
            }
        } else {
            return Routing::Wait { until: deadline };
        };
        self.done = Some(r);
        r
    }

    /// True when the customer was abandoned (heard the message).
    pub fn abandoned(&self) -> bool {
        matches!(self.done, Some(Routing::PlayMessage { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn harbor() -> SafeHarborConfig {
        SafeHarborConfig {
            seller_name: "Acme Shop".into(),
            callback_number: "+92 21 111-222-333".into(),
            messages: BTreeMap::new(),
        }
    }

    #[test]
    fn free_agent_at_answer_connects_at_once() {
        let mut w = HarborWait::new(ms(10_000));
        assert_eq!(w.poll(ms(10_000), true), Routing::Connect { waited: ms(0) });
        assert!(!w.abandoned());
    }

    #[test]
    fn agent_freeing_within_the_budget_connects() {
        let mut w = HarborWait::new(ms(10_000));
        assert_eq!(
            w.poll(ms(10_000), false),
            Routing::Wait { until: ms(11_700) }
        );
        assert_eq!(
            w.poll(ms(11_000), false),
            Routing::Wait { until: ms(11_700) }
        );
        assert_eq!(
            w.poll(ms(11_650), true),
            Routing::Connect { waited: ms(1_650) }
        );
        // A late timeout after the connect changes nothing.
        assert_eq!(
            w.poll(ms(12_000), false),
            Routing::Connect { waited: ms(1_650) }
        );
    }

    #[test]
    fn no_agent_in_time_plays_the_message_heard_within_2_s() {
        let mut w = HarborWait::new(ms(10_000));
        let deadline = w.deadline();
        let r = w.poll(deadline, false);
        let Routing::PlayMessage { heard_after } = r else {
            panic!("{r:?}")
        };
        assert!(heard_after <= SAFE_HARBOR, "{heard_after:?}");
        assert!(w.abandoned());
        // An agent freeing a moment later does not un-abandon the customer.
        assert_eq!(w.poll(deadline + ms(10), true), r);
    }

    #[test]
    fn an_agent_after_the_deadline_is_too_late() {
        let mut w = HarborWait::new(ms(0));
        assert!(matches!(
            w.poll(ms(1_800), true),
            Routing::PlayMessage { .. }
        ));
    }

    #[test]
    fn amd_time_counts_toward_the_window() {
        // Answered at 0, AMD said "human" at 1.8 s: the message is due now.
        let mut w = HarborWait::new(ms(0));
        let r = w.poll(ms(1_800), false);
        assert_eq!(
            r,
            Routing::PlayMessage {
                heard_after: ms(2_100)
            }
        );
        // That is past 2 s: the decision is immediate, and reported honestly.
        let mut w = HarborWait::new(ms(0));
        assert!(matches!(w.poll(ms(900), false), Routing::Wait { .. }));
    }

    #[test]
    fn the_window_never_grows_past_2_s() {
        let w = HarborWait::with(ms(0), Duration::from_secs(5), ms(0));
        assert_eq!(w.deadline(), SAFE_HARBOR);
    }

    #[test]
    fn config_requires_seller_and_number() {
        assert_eq!(harbor().validate(), Ok(()));
        let mut h = harbor();
        h.seller_name = "  ".into();
        assert_eq!(
            h.validate().map_err(|e| e.field().to_string()),
            Err("seller_name".into())
        );
        for bad in [
            "",
            "12345",
            "call us",
            "+92+21 1112223",
            "1234567890123456",
            "92 21 + 111 222",
        ] {
            let mut h = harbor();
            h.callback_number = bad.into();
            let err = h.validate().expect_err(bad);
            assert_eq!(err.field(), "callback_number", "{bad}");
        }
        let mut h = harbor();
        h.messages.insert("ur".into(), "Shukriya {seller}".into());
        assert_eq!(
            h.validate().map_err(|e| e.field().to_string()),
            Err("messages.ur".into())
        );
    }

    #[test]
    fn message_names_seller_and_number_in_the_locale() {
        let mut h = harbor();
        h.messages.insert(
            "ur".into(),
            "{seller} se call thi. Hamein {number} par call karein.".into(),
        );
        let en = h.message("en-US");
        assert!(
            en.contains("Acme Shop") && en.contains("+92 21 111-222-333"),
            "{en}"
        );
        let ur = h.message("ur-PK");
        assert!(ur.starts_with("Acme Shop se call thi"), "{ur}");
    }
}
