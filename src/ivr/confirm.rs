//! The confirmation flow: greet, read the amount, "press 1 to confirm, press 2
//! to cancel", then thank and hang up.
//!
//! Rules (issue #3):
//! - a key typed while a prompt plays counts (barge-in stops the prompt);
//! - any other key: "sorry" and the menu again, at most `max_invalid` times,
//!   then the call ends as `no_input`;
//! - silence after the menu for `no_input_timeout`: the menu is repeated
//!   `no_input_repeats` times, then `no_input`;
//! - after the confirm or cancel key: the matching thank-you, then BYE.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::dialplan::{expand, ConfirmPlan, DialplanError};
use super::{Flow, FlowAction, FlowInput, Outcome};

/// If the media layer never reports the goodbye prompt done, hang up anyway.
const CLOSING_GUARD: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not answered yet.
    Ringing,
    /// Prompts are playing; keys are accepted.
    Speaking,
    /// The menu has been played; waiting for a key until the deadline.
    Waiting {
        deadline: Instant,
    },
    /// Playing the last words; BYE when they end (or at the guard deadline).
    Closing {
        outcome: Outcome,
        deadline: Instant,
    },
    Done,
}

/// The confirm flow for one call. See the module docs for its rules.
#[derive(Debug)]
pub struct ConfirmFlow {
    intro: Vec<String>,
    menu: Vec<String>,
    invalid: Vec<String>,
    no_input: Vec<String>,
    confirmed: Vec<String>,
    cancelled: Vec<String>,
    goodbye: Vec<String>,
    confirm_key: char,
    cancel_key: char,
    max_invalid: u32,
    no_input_timeout: Duration,
    no_input_repeats: u32,

    state: State,
    invalid_count: u32,
    silence_count: u32,
    digits: String,
    actions: VecDeque<FlowAction>,
}

impl ConfirmFlow {
    /// Build a flow from a validated plan; `vars` fills `$name` prompts
    /// (`amount` at least, when the plan's summary uses it).
    pub fn new(
        plan: &ConfirmPlan,
        vars: &std::collections::HashMap<String, Vec<String>>,
    ) -> Result<Self, DialplanError> {
        plan.validate()?;
        let mut intro = expand(&plan.greeting, vars)?;
        intro.extend(expand(&plan.summary, vars)?);
        Ok(Self {
            intro,
            menu: expand(&plan.menu, vars)?,
            invalid: expand(&plan.invalid, vars)?,
            no_input: expand(&plan.no_input, vars)?,
            confirmed: expand(&plan.confirmed, vars)?,
            cancelled: expand(&plan.cancelled, vars)?,
            goodbye: expand(&plan.goodbye, vars)?,
            confirm_key: plan.confirm_key,
            cancel_key: plan.cancel_key,
            max_invalid: plan.max_invalid,
            no_input_timeout: plan.no_input_timeout()?,
            no_input_repeats: plan.no_input_repeats,
            state: State::Ringing,
            invalid_count: 0,
            silence_count: 0,
            digits: String::new(),
            actions: VecDeque::new(),
        })
    }

    /// The outcome once decided (before or after the final prompt).
    pub fn outcome(&self) -> Option<Outcome> {
        match self.state {
            State::Closing { outcome, .. } => Some(outcome),
            _ => None,
        }
    }

    fn speak(&mut self, prompts: Vec<String>) {
        self.actions.push_back(FlowAction::Play(prompts));
        self.state = State::Speaking;
    }

    fn menu_after(&self, preface: &[String]) -> Vec<String> {
        preface.iter().chain(self.menu.iter()).cloned().collect()
    }

    fn close(&mut self, now: Instant, outcome: Outcome, words: Vec<String>, barge: bool) {
        if barge {
            self.actions.push_back(FlowAction::StopPlayback);
        }
        if words.is_empty() {
            self.actions.push_back(FlowAction::Hangup(outcome));
            self.state = State::Done;
            return;
        }
        self.actions.push_back(FlowAction::Play(words));
        self.state = State::Closing {
            outcome,
            deadline: now + CLOSING_GUARD,
        };
    }

    fn on_digit(&mut self, now: Instant, d: char) {
        self.digits.push(d);
        if !matches!(self.state, State::Speaking | State::Waiting { .. }) {
            return;
        }
        if d == self.confirm_key {
            let words = self.confirmed.clone();
            self.close(now, Outcome::Confirmed, words, true);
        } else if d == self.cancel_key {
            let words = self.cancelled.clone();
            self.close(now, Outcome::Cancelled, words, true);
        } else {
            self.invalid_count += 1;
            if self.invalid_count > self.max_invalid {
                let words = self.goodbye.clone();
                self.close(now, Outcome::NoInput, words, true);
            } else {
                self.actions.push_back(FlowAction::StopPlayback);
                let prompts = self.menu_after(&self.invalid);
                self.speak(prompts);
            }
        }
    }
}

impl Flow for ConfirmFlow {
    fn handle_input(&mut self, now: Instant, input: FlowInput) {
        match input {
            FlowInput::Answered => {
                if self.state == State::Ringing {
                    let prompts: Vec<String> = self.menu_after(&self.intro);
                    self.speak(prompts);
                }
            }
            FlowInput::Digit(d) => self.on_digit(now, d),
            FlowInput::PlaybackDone => match self.state {
                State::Speaking => {
                    self.state = State::Waiting {
                        deadline: now + self.no_input_timeout,
                    }
                }
                State::Closing { outcome, .. } => {
                    self.actions.push_back(FlowAction::Hangup(outcome));
                    self.state = State::Done;
                }
                _ => {}
            },
            FlowInput::RemoteHangup => {
                let outcome = match self.state {
                    State::Closing { outcome, .. } if outcome != Outcome::NoInput => outcome,
                    State::Done => return,
                    _ => Outcome::Hangup,
                };
                self.actions.push_back(FlowAction::Finished(outcome));
                self.state = State::Done;
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Waiting { deadline } if now >= deadline => {
                if self.silence_count < self.no_input_repeats {
                    self.silence_count += 1;
                    let prompts = self.menu_after(&self.no_input);
                    self.speak(prompts);
                } else {
                    let words = self.goodbye.clone();
                    self.close(now, Outcome::NoInput, words, false);
                }
            }
            State::Closing { outcome, deadline } if now >= deadline => {
                self.actions.push_back(FlowAction::Hangup(outcome));
                self.state = State::Done;
            }
            _ => {}
        }
    }

    fn poll_action(&mut self) -> Option<FlowAction> {
        self.actions.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Waiting { deadline } | State::Closing { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    fn digits(&self) -> &str {
        &self.digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn flow() -> ConfirmFlow {
        let mut vars = HashMap::new();
        vars.insert(
            "amount".into(),
            vec!["2".into(), "thousand".into(), "rupees".into()],
        );
        ConfirmFlow::new(&ConfirmPlan::default(), &vars).expect("default plan")
    }

    fn drain(f: &mut ConfirmFlow) -> Vec<FlowAction> {
        std::iter::from_fn(|| f.poll_action()).collect()
    }

    fn play(names: &[&str]) -> FlowAction {
        FlowAction::Play(names.iter().map(|s| s.to_string()).collect())
    }

    const MENU: &str = "press_1_confirm_2_cancel";

    #[test]
    fn answer_plays_greeting_amount_and_menu() {
        let t0 = Instant::now();
        let mut f = flow();
        assert_eq!(f.poll_timeout(), None);
        f.handle_input(t0, FlowInput::Answered);
        assert_eq!(
            drain(&mut f),
            vec![play(&[
                "greeting",
                "order_total",
                "2",
                "thousand",
                "rupees",
                MENU
            ])]
        );
    }

    #[test]
    fn key_one_after_menu_confirms_then_hangs_up_after_thanks() {
        let t0 = Instant::now();
        let mut f = flow();
        f.handle_input(t0, FlowInput::Answered);
        f.handle_input(t0 + Duration::from_secs(8), FlowInput::PlaybackDone);
        drain(&mut f);
        f.handle_input(t0 + Duration::from_secs(9), FlowInput::Digit('1'));
        assert_eq!(
            drain(&mut f),
            vec![FlowAction::StopPlayback, play(&["confirmed_thanks"])]
        );
        assert_eq!(f.outcome(), Some(Outcome::Confirmed));
        f.handle_input(t0 + Duration::from_secs(11), FlowInput::PlaybackDone);
        assert_eq!(drain(&mut f), vec![FlowAction::Hangup(Outcome::Confirmed)]);
        assert_eq!(f.digits(), "1");
    }

    #[test]
    fn key_during_prompt_barges_in() {
        let t0 = Instant::now();
        let mut f = flow();
        f.handle_input(t0, FlowInput::Answered);
        drain(&mut f);
        f.handle_input(t0 + Duration::from_secs(1), FlowInput::Digit('2'));
        assert_eq!(
            drain(&mut f),
            vec![FlowAction::StopPlayback, play(&["cancelled_thanks"])]
        );
        assert_eq!(f.outcome(), Some(Outcome::Cancelled));
    }

    #[test]
    fn wrong_key_reprompts_three_times_then_ends_no_input() {
        let t0 = Instant::now();
        let mut f = flow();
        f.handle_input(t0, FlowInput::Answered);
        drain(&mut f);
        for _ in 0..3 {
            f.handle_input(t0, FlowInput::Digit('7'));
            assert_eq!(
                drain(&mut f),
                vec![FlowAction::StopPlayback, play(&["invalid_key", MENU])]
            );
        }
        f.handle_input(t0, FlowInput::Digit('9'));
        assert_eq!(
            drain(&mut f),
            vec![FlowAction::StopPlayback, play(&["goodbye"])]
        );
        f.handle_input(t0, FlowInput::PlaybackDone);
        assert_eq!(drain(&mut f), vec![FlowAction::Hangup(Outcome::NoInput)]);
        assert_eq!(f.digits(), "7779");
    }

    #[test]
    fn wrong_key_then_one_confirms() {
        let t0 = Instant::now();
        let mut f = flow();
        f.handle_input(t0, FlowInput::Answered);
        f.handle_input(t0, FlowInput::Digit('5'));
        f.handle_input(t0, FlowInput::Digit('1'));
        assert_eq!(f.outcome(), Some(Outcome::Confirmed));
        assert_eq!(f.digits(), "51");
    }

    #[test]
    fn silence_repeats_menu_once_then_no_input() {
        let t0 = Instant::now();
        let mut f = flow();
        f.handle_input(t0, FlowInput::Answered);
        f.handle_input(t0 + Duration::from_secs(8), FlowInput::PlaybackDone);
        drain(&mut f);
        let deadline = f.poll_timeout().expect("waiting has a deadline");
        assert_eq!(deadline, t0 + Duration::from_secs(13));
        // Early wake-ups change nothing.
        f.handle_timeout(deadline - Duration::from_millis(1));
        assert!(drain(&mut f).is_empty());
        f.handle_timeout(deadline);
        assert_eq!(drain(&mut f), vec![play(&["no_input", MENU])]);
        f.handle_input(deadline + Duration::from_secs(4), FlowInput::PlaybackDone);
        let d2 = f.poll_timeout().expect("second wait");
        f.handle_timeout(d2);
        assert_eq!(drain(&mut f), vec![play(&["goodbye"])]);
        f.handle_input(d2 + Duration::from_secs(1), FlowInput::PlaybackDone);
        assert_eq!(drain(&mut f), vec![FlowAction::Hangup(Outcome::NoInput)]);
    }

    #[test]
    fn hangup_before_choice_is_hangup_and_after_choice_keeps_choice() {
        let t0 = Instant::now();
        let mut f = flow();
        f.handle_input(t0, FlowInput::Answered);
        f.handle_input(t0, FlowInput::RemoteHangup);
        assert_eq!(
            drain(&mut f).last(),
            Some(&FlowAction::Finished(Outcome::Hangup))
        );

        let mut f = flow();
        f.handle_input(t0, FlowInput::Answered);
        f.handle_input(t0, FlowInput::Digit('1'));
        f.handle_input(t0, FlowInput::RemoteHangup);
        assert_eq!(
            drain(&mut f).last(),
            Some(&FlowAction::Finished(Outcome::Confirmed))
        );
        // Nothing after the end.
        f.handle_input(t0, FlowInput::Digit('2'));
        f.handle_input(t0, FlowInput::RemoteHangup);
        assert!(drain(&mut f).is_empty());
    }

    #[test]
    fn closing_guard_hangs_up_if_playback_never_ends() {
        let t0 = Instant::now();
        let mut f = flow();
        f.handle_input(t0, FlowInput::Answered);
        f.handle_input(t0, FlowInput::Digit('1'));
        drain(&mut f);
        let guard = f.poll_timeout().expect("closing guard");
        f.handle_timeout(guard);
        assert_eq!(drain(&mut f), vec![FlowAction::Hangup(Outcome::Confirmed)]);
        assert_eq!(f.poll_timeout(), None);
    }

    #[test]
    fn sip_failures_map_to_outcomes() {
        assert_eq!(Outcome::from_sip_failure(486), Outcome::Busy);
        assert_eq!(Outcome::from_sip_failure(600), Outcome::Busy);
        assert_eq!(Outcome::from_sip_failure(487), Outcome::NoAnswer);
        assert_eq!(Outcome::from_sip_failure(480), Outcome::NoAnswer);
        assert_eq!(Outcome::from_sip_failure(603), Outcome::Rejected);
        assert_eq!(Outcome::from_sip_failure(404), Outcome::Failed);
        assert_eq!(Outcome::from_sip_failure(503), Outcome::Failed);
    }
}
