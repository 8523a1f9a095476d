//! The confirmation flow: greet, read the amount, "press 1 to confirm, press 2
//! to cancel", then thank and hang up.
//!
//! Rules (issue #3):
//! - a key typed while a prompt plays counts (barge-in stops the prompt);
//! - any other key: "sorry" and the menu again, at most `max_invalid` times,
//!   then the call ends as `no_input`;
//! - silence after the menu for `no_input_timeout`: the menu is repeated
//!   `no_input_repeats` times, then `no_input`;
//! - after the confirm or cancel key: the matching thank-you, then BYE;
//! - the repeat key (issue #13, `9`): the script's repeatable parts and the
//!   menu again, at most `max_repeats` times (then it is a wrong key);
//! - the operator key (`3`): stop, "please hold", ask the driver for a ready
//!   operator ([`FlowAction::SeekOperator`]); nobody within `operator_wait`:
//!   "we will call you back" and BYE with outcome `operator` (the caller of
//!   the flow puts the order in the operators' callback queue).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::dialplan::{expand, expand_script, ConfirmPlan, DialplanError};
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
    /// The callee asked for a person; holding until a ready operator takes
    /// the call or the deadline passes. `nobody`: the driver said no
    /// operator can take it; the callback words follow the hold prompt.
    Holding {
        deadline: Instant,
        nobody: bool,
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
    /// What the repeat key plays before the menu.
    again: Vec<String>,
    hold: Vec<String>,
    operator_callback: Vec<String>,
    operator_key: Option<char>,
    repeat_key: Option<char>,
    max_repeats: u32,
    operator_wait: Duration,
    repeats: u32,
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
    /// The hold prompt was queued and its `PlaybackDone` has not come yet.
    hold_playing: bool,
}

impl ConfirmFlow {
    /// Build a flow from a validated plan; `vars` fills `$name` prompts
    /// (`amount` at least, when the plan's summary uses it).
    pub fn new(
        plan: &ConfirmPlan,
        vars: &std::collections::HashMap<String, Vec<String>>,
    ) -> Result<Self, DialplanError> {
        plan.validate()?;
        let (intro, again) = if plan.script.is_empty() {
            let mut intro = expand(&plan.greeting, vars)?;
            let summary = expand(&plan.summary, vars)?;
            intro.extend(summary.iter().cloned());
            (intro, summary)
        } else {
            (
                expand_script(&plan.script, vars, false)?,
                expand_script(&plan.script, vars, true)?,
            )
        };
        Ok(Self {
            intro,
            again,
            hold: expand(&plan.hold, vars)?,
            operator_callback: expand(&plan.operator_callback, vars)?,
            operator_key: plan.operator_key,
            repeat_key: plan.repeat_key,
            max_repeats: plan.max_repeats,
            operator_wait: plan.operator_wait()?,
            repeats: 0,
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
            hold_playing: false,
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

    /// Nobody took the call: "we will call you back", then BYE with outcome
    /// `operator` (the order becomes a callback). `stop`: cut the hold
    /// prompt short (the wait is over) rather than let it end.
    fn call_back_later(&mut self, now: Instant, stop: bool) {
        let words = self.operator_callback.clone();
        self.close(now, Outcome::Operator, words, stop);
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
        } else if Some(d) == self.operator_key {
            self.actions.push_back(FlowAction::StopPlayback);
            if !self.hold.is_empty() {
                self.actions.push_back(FlowAction::Play(self.hold.clone()));
            }
            self.actions.push_back(FlowAction::SeekOperator);
            self.hold_playing = !self.hold.is_empty();
            self.state = State::Holding {
                deadline: now + self.operator_wait,
                nobody: false,
            };
        } else if Some(d) == self.repeat_key && self.repeats < self.max_repeats {
            self.repeats += 1;
            self.actions.push_back(FlowAction::StopPlayback);
            let prompts = self.menu_after(&self.again);
            self.speak(prompts);
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
                State::Holding { nobody, .. } => {
                    self.hold_playing = false;
                    if nobody {
                        self.call_back_later(now, false);
                    }
                }
                _ => {}
            },
            FlowInput::NoOperator => {
                if let State::Holding { deadline, .. } = self.state {
                    if self.hold_playing {
                        // "please hold" ends first, then the callback words.
                        self.state = State::Holding {
                            deadline,
                            nobody: true,
                        };
                    } else {
                        self.call_back_later(now, false);
                    }
                }
            }
            FlowInput::OperatorTook => {
                if let State::Holding { .. } = self.state {
                    self.actions.push_back(FlowAction::StopPlayback);
                    self.actions
                        .push_back(FlowAction::Finished(Outcome::Operator));
                    self.state = State::Done;
                }
            }
            FlowInput::RemoteHangup => {
                let outcome = match self.state {
                    // Asked for a person, then gave up holding: still a callback.
                    State::Holding { .. } => Outcome::Operator,
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
            State::Holding { deadline, .. } if now >= deadline => {
                self.call_back_later(now, true);
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
            State::Waiting { deadline }
            | State::Holding { deadline, .. }
            | State::Closing { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    fn digits(&self) -> &str {
        &self.digits
    }

    fn holding(&self) -> bool {
        matches!(self.state, State::Holding { nobody: false, .. })
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

    /// The shipped dialplan with a fee and items (issue #13).
    fn scripted() -> ConfirmFlow {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/confirm.toml");
        let plan = ConfirmPlan::load(&path).expect("shipped dialplan");
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let mut vars = HashMap::new();
        vars.insert("store".into(), v(&["tts_store"]));
        vars.insert("customer_name".into(), v(&[]));
        vars.insert("number".into(), v(&["1", "0", "4"]));
        vars.insert("items".into(), v(&["2", "tts_suit"]));
        vars.insert("delivery_fee".into(), v(&["1", "hundred", "pkr"]));
        vars.insert("amount".into(), v(&["2", "thousand", "pkr"]));
        ConfirmFlow::new(&plan, &vars).expect("flow")
    }

    const SUMMARY: [&str; 13] = [
        "about_order_number",
        "1",
        "0",
        "4",
        "you_ordered",
        "2",
        "tts_suit",
        "total_including_delivery",
        "1",
        "hundred",
        "pkr",
        "total_is",
        "2",
    ];

    fn summary_then(tail: &[&str]) -> Vec<String> {
        SUMMARY
            .iter()
            .chain(["thousand", "pkr", "cash_on_delivery"].iter())
            .chain(tail.iter())
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn script_plays_in_order_and_nine_repeats_without_greeting() {
        let t0 = Instant::now();
        let mut f = scripted();
        f.handle_input(t0, FlowInput::Answered);
        let mut first = vec![
            "hello".to_string(),
            "calling_from".into(),
            "tts_store".into(),
        ];
        first.extend(summary_then(&["menu_script"]));
        assert_eq!(drain(&mut f), vec![FlowAction::Play(first)]);
        f.handle_input(t0 + Duration::from_secs(2), FlowInput::Digit('9'));
        assert_eq!(
            drain(&mut f),
            vec![
                FlowAction::StopPlayback,
                FlowAction::Play(summary_then(&["menu_script"]))
            ]
        );
        // Three repeats, then 9 is a wrong key.
        f.handle_input(t0, FlowInput::Digit('9'));
        f.handle_input(t0, FlowInput::Digit('9'));
        drain(&mut f);
        f.handle_input(t0, FlowInput::Digit('9'));
        assert_eq!(
            drain(&mut f),
            vec![
                FlowAction::StopPlayback,
                play(&["invalid_key", "menu_script"])
            ]
        );
        f.handle_input(t0, FlowInput::Digit('1'));
        assert_eq!(f.outcome(), Some(Outcome::Confirmed));
    }

    #[test]
    fn three_holds_then_callback_when_nobody_takes_it() {
        let t0 = Instant::now();
        let mut f = scripted();
        f.handle_input(t0, FlowInput::Answered);
        drain(&mut f);
        f.handle_input(t0 + Duration::from_secs(3), FlowInput::Digit('3'));
        assert_eq!(
            drain(&mut f),
            vec![
                FlowAction::StopPlayback,
                play(&["operator_hold"]),
                FlowAction::SeekOperator
            ]
        );
        let deadline = f.poll_timeout().expect("hold deadline");
        assert_eq!(deadline, t0 + Duration::from_secs(11), "operator_wait = 8s");
        // Keys while holding change nothing; the hold prompt ending neither.
        f.handle_input(t0 + Duration::from_secs(4), FlowInput::Digit('1'));
        f.handle_input(t0 + Duration::from_secs(5), FlowInput::PlaybackDone);
        f.handle_timeout(deadline - Duration::from_millis(1));
        assert!(drain(&mut f).is_empty());
        f.handle_timeout(deadline);
        assert_eq!(
            drain(&mut f),
            vec![FlowAction::StopPlayback, play(&["operator_callback"])]
        );
        assert_eq!(f.outcome(), Some(Outcome::Operator));
        f.handle_input(deadline, FlowInput::PlaybackDone);
        assert_eq!(drain(&mut f), vec![FlowAction::Hangup(Outcome::Operator)]);
    }

    #[test]
    fn nobody_to_seek_the_callback_words_follow_the_hold_prompt_at_once() {
        let t0 = Instant::now();
        // The answer comes while "please hold" plays: it ends first.
        let mut f = scripted();
        f.handle_input(t0, FlowInput::Answered);
        f.handle_input(t0, FlowInput::Digit('3'));
        drain(&mut f);
        f.handle_input(t0, FlowInput::NoOperator);
        assert!(drain(&mut f).is_empty(), "the hold prompt is not cut");
        f.handle_input(t0 + Duration::from_secs(1), FlowInput::PlaybackDone);
        assert_eq!(drain(&mut f), vec![play(&["operator_callback"])]);
        assert_eq!(f.outcome(), Some(Outcome::Operator));
        f.handle_input(t0 + Duration::from_secs(2), FlowInput::PlaybackDone);
        assert_eq!(drain(&mut f), vec![FlowAction::Hangup(Outcome::Operator)]);

        // The answer comes after the hold prompt ended: the words at once.
        let mut f = scripted();
        f.handle_input(t0, FlowInput::Answered);
        f.handle_input(t0, FlowInput::Digit('3'));
        drain(&mut f);
        f.handle_input(t0 + Duration::from_secs(1), FlowInput::PlaybackDone);
        f.handle_input(t0 + Duration::from_secs(1), FlowInput::NoOperator);
        assert_eq!(drain(&mut f), vec![play(&["operator_callback"])]);
        // An answer that comes late (the call is closing) changes nothing.
        f.handle_input(t0 + Duration::from_secs(1), FlowInput::OperatorTook);
        assert!(drain(&mut f).is_empty());
        assert_eq!(f.outcome(), Some(Outcome::Operator));
    }

    #[test]
    fn a_ready_operator_takes_the_call_and_a_hangup_while_holding_is_a_callback() {
        let t0 = Instant::now();
        let mut f = scripted();
        f.handle_input(t0, FlowInput::Answered);
        f.handle_input(t0, FlowInput::Digit('3'));
        drain(&mut f);
        f.handle_input(t0, FlowInput::OperatorTook);
        assert_eq!(
            drain(&mut f),
            vec![
                FlowAction::StopPlayback,
                FlowAction::Finished(Outcome::Operator)
            ]
        );

        let mut f = scripted();
        f.handle_input(t0, FlowInput::Answered);
        f.handle_input(t0, FlowInput::Digit('3'));
        drain(&mut f);
        f.handle_input(t0, FlowInput::RemoteHangup);
        assert_eq!(drain(&mut f), vec![FlowAction::Finished(Outcome::Operator)]);
    }

    #[test]
    fn without_operator_and_repeat_keys_three_and_nine_are_wrong_keys() {
        let t0 = Instant::now();
        let mut f = flow();
        f.handle_input(t0, FlowInput::Answered);
        drain(&mut f);
        for d in ['3', '9'] {
            f.handle_input(t0, FlowInput::Digit(d));
            assert_eq!(
                drain(&mut f),
                vec![FlowAction::StopPlayback, play(&["invalid_key", MENU])]
            );
        }
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
