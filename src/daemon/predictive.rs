//! Predictive dialing, live (issue #12): for each mode with
//! `pacing = "predictive"`, the mode's [`Pacer`](orderline_dialer::pacer)
//! says how many lines to dial now; each line calls the next order of the
//! mode with no agent attached ([`crate::call::line`]). A customer who
//! answers is connected into the session of a ready agent of the mode
//! within the safe-harbor window, without ringing the agent's phone; when
//! no agent frees up in time, the customer hears the mode's safe-harbor
//! message (seller name, callback number) starting within 2 s of the
//! answer and the line is hung up: the call is abandoned (FTC TSR 16 CFR
//! 310.4(b)(4)(iii), FCC 47 CFR 64.1200(a)(7)) and its order goes back to
//! its queue, put off like an unanswered call.
//!
//! The decisions are the sans-IO parts' ([`Pacer`], [`HarborWait`],
//! [`DialQueue::pick_line`](orderline_dialer::modes::DialQueue::pick_line));
//! this task only feeds them events and time and carries out their answers.
//! The pacer hears every agent move of the mode's agents (from the floor)
//! and every line's progress, so its forecast and its 30-day abandon ledger
//! follow the live floor.
//!
//! With the mode's `amd` on, each answered line is first classified
//! ([`line::dial`] listens): humans and unknowns wait for an agent with the
//! window running from the end of their greeting; machines never reach an
//! agent and never count as live answers for the pacer: they are hung up
//! on (`amd = "hangup"`) or left the safe-harbor message after their beep
//! (`amd = "message"`), and their order is put off like an unanswered call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use orderline_amd::AmdConfig;
use orderline_dialer::agents::{AgentInput, AgentState, Reason};
use orderline_dialer::harbor::LIVE_INITIAL_SILENCE;
use orderline_dialer::harbor::{HarborWait, Routing};
use orderline_dialer::modes::{AmdPolicy, DialResult, Pacing};
use orderline_dialer::pacer::{AgentEvent, CallEvent};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::desk::Desk;
use crate::call::line::{self, AnsweredLine, LineEnd};
use crate::call::live::{CallEnd, LegCause};
use crate::call::{CallError, Engine};
use crate::clock::Clock;
use crate::dialup::Dialup;
use crate::floor::{Floor, FloorEvent};
use crate::media::tts::Tts;
use crate::store::{NewAgentCall, Store};

/// Who holds a line's order in the queue until an agent takes the
/// customer. Agent ids are `[A-Za-z0-9_-]`, so it can be nobody's.
pub const LINE_HOLDER: &str = "~line";
/// Without an event, look again this often (the pacer's decisions are
/// per second; a waiting customer has its own deadline).
const TICK: Duration = Duration::from_millis(250);
/// At most this many new lines per mode per look: a burst of INVITEs is
/// spread over the following looks.
const MAX_NEW_LINES: u32 = 10;

/// The detector's settings on a live line: the defaults, tuned on the
/// test sets (docs/amd.md), but for the initial silence.
fn live_amd() -> AmdConfig {
    AmdConfig {
        initial_silence_ms: LIVE_INITIAL_SILENCE.as_millis() as u32,
        ..AmdConfig::default()
    }
}

/// The work of one predictive mode that does not change while it runs.
struct ModeLines {
    id: String,
    agents: Vec<String>,
    ring: Duration,
    /// Set when the mode classifies answers (`amd` not `off`).
    amd: Option<AmdConfig>,
    policy: AmdPolicy,
    /// Safe-harbor prompt per locale (rendered once at start).
    messages: HashMap<String, Vec<String>>,
}

/// How a line's ringing ended, by line id.
type LineReport = (u64, Result<LineEnd, CallError>);

/// A line dialled and not yet settled.
struct Line {
    mode: usize,
    order: String,
    phone: String,
    locale: String,
}

/// A live customer waiting for an agent.
struct Waiting {
    id: u64,
    line: AnsweredLine,
    /// Where the harbor window starts, on the task's clock: the answer,
    /// or with AMD the end of the customer's greeting.
    window_from: Duration,
    wait: HarborWait,
}

/// A customer handed to an agent: the call's end and the agent's
/// disposition settle the order (the API's disposition handler does).
struct Taken {
    order: String,
    agent: String,
}

pub struct Predictive {
    dialup: Dialup,
    floor: Floor,
    desk: Desk,
    store: Store,
    clock: Clock,
    engine: Arc<Engine>,
    modes: Vec<ModeLines>,
    default_locale: String,
    origin: Instant,
    next_id: u64,
    lines: HashMap<u64, Line>,
    waiting: Vec<Waiting>,
    taken: HashMap<String, Taken>,
    wrapping: HashMap<String, Taken>,
    agent_ids: HashMap<String, u64>,
    reports: (mpsc::Sender<LineReport>, mpsc::Receiver<LineReport>),
}

impl Predictive {
    /// The predictive modes of `dialup`, with their safe-harbor messages
    /// rendered by `tts` for every locale the mode words one in and the
    /// default locale. `None` when no mode is predictive.
    pub async fn new(
        dialup: Dialup,
        floor: Floor,
        desk: Desk,
        store: Store,
        engine: Arc<Engine>,
        tts: Tts,
    ) -> anyhow::Result<Option<Predictive>> {
        let rules = dialup.rules();
        let default_locale = engine.config().calling.default_locale.clone();
        let default_ring = engine.config().calling.ring_timeout()?;
        let mut modes = Vec::new();
        for m in rules
            .modes()
            .iter()
            .filter(|m| m.pacing == Pacing::Predictive)
        {
            let Some(harbor) = &m.safe_harbor else {
                anyhow::bail!(
                    "mode {}: predictive without safe_harbor (config checks this)",
                    m.id
                );
            };
            let mut locales: Vec<String> = harbor.messages.keys().cloned().collect();
            locales.push(default_locale.clone());
            let mut messages = HashMap::new();
            for locale in locales {
                let text = harbor.message(&locale);
                let tts = tts.clone();
                let loc = locale.clone();
                let key = tokio::task::spawn_blocking(move || tts.render(&loc, &text))
                    .await?
                    .map_err(|e| {
                        anyhow::anyhow!("mode {}: safe-harbor message for {locale}: {e}", m.id)
                    })?;
                messages.insert(locale, vec![key]);
            }
            let ring = m
                .ring_timeout
                .and_then(|t| t.to_std().ok())
                .unwrap_or(default_ring);
            modes.push(ModeLines {
                id: m.id.clone(),
                agents: m.agents.iter().cloned().collect(),
                ring,
                amd: (m.amd != AmdPolicy::Off).then(live_amd),
                policy: m.amd,
                messages,
            });
        }
        if modes.is_empty() {
            return Ok(None);
        }
        let clock = engine.clock().clone();
        Ok(Some(Predictive {
            dialup,
            floor,
            desk,
            store,
            clock,
            engine,
            modes,
            default_locale,
            origin: Instant::now(),
            next_id: 0,
            lines: HashMap::new(),
            waiting: Vec::new(),
            taken: HashMap::new(),
            wrapping: HashMap::new(),
            agent_ids: HashMap::new(),
            reports: mpsc::channel(256),
        }))
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Dial and route until `stop`; waiting customers are hung up then
    /// (their orders stay in flight and are released at the next start).
    pub async fn run(mut self, stop: CancellationToken) {
        let mut changes = self.floor.subscribe();
        let mut ends = self.desk.call_ends();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self
                .waiting
                .iter()
                .map(|w| w.wait.deadline())
                .min()
                .map(|d| self.origin + d);
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
                _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {}
                ev = changes.recv() => match ev {
                    Ok(ev) => self.floor_moved(ev).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "predictive dialer fell behind the floor");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                end = ends.recv() => match end {
                    Ok((call, end)) => self.call_ended(&call, &end).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::error!(missed = n, "predictive dialer missed call ends");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                Some((id, end)) = self.reports.1.recv() => self.line_ended(id, end).await,
            }
            if stop.is_cancelled() {
                break;
            }
            self.route_waiting().await;
            self.dial().await;
        }
        for w in self.waiting.drain(..) {
            w.line.hang_up(&self.engine).await;
        }
    }

    /// The pacer's id for an agent (its own small numbers).
    fn agent_id(&mut self, agent: &str) -> u64 {
        let n = self.agent_ids.len() as u64;
        *self.agent_ids.entry(agent.to_string()).or_insert(n)
    }

    /// Every floor move of a predictive mode's agent feeds that mode's
    /// pacer; a wrap-up ended without a disposition settles its order.
    async fn floor_moved(&mut self, ev: FloorEvent) {
        let pacer_ev = match &ev.transition.to {
            AgentState::Offline => AgentEvent::LoggedOut,
            AgentState::Connecting => AgentEvent::LoggedIn,
            AgentState::Paused { .. } => AgentEvent::Paused,
            AgentState::Ready => AgentEvent::Ready,
            AgentState::Reserved { .. } => AgentEvent::Reserved,
            AgentState::InCall { .. } => AgentEvent::InCall,
            AgentState::WrapUp { .. } => AgentEvent::WrapUp,
        };
        let id = self.agent_id(&ev.agent_id);
        let now = self.clock.now();
        for m in self
            .modes
            .iter()
            .filter(|m| m.agents.contains(&ev.agent_id))
        {
            if let Err(e) = self.dialup.pacer_agent(&m.id, id, pacer_ev, now) {
                tracing::warn!(mode = %m.id, error = %e, "pacer refused an agent event");
            }
        }
        if let AgentState::WrapUp { call } = &ev.transition.from {
            if let Some(t) = self.wrapping.remove(call) {
                if matches!(ev.transition.reason, Reason::WrapUpTimeout | Reason::Logout) {
                    self.settle(&t.order, &t.agent, DialResult::Dropped).await;
                }
            }
        }
    }

    /// New lines for every predictive mode, as many as its pacer says.
    async fn dial(&mut self) {
        for idx in 0..self.modes.len() {
            let mode = self.modes[idx].id.clone();
            let now = self.clock.now();
            let n = match self.dialup.dial_now(&mode, now) {
                Ok(n) => n.min(MAX_NEW_LINES),
                Err(e) => {
                    tracing::warn!(%mode, error = %e, "pacer unavailable");
                    continue;
                }
            };
            for _ in 0..n {
                match self.dialup.pick_line(&mode, LINE_HOLDER, now).await {
                    Ok(Some(pick)) => self.place(idx, pick.order_id).await,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(%mode, error = %e, "line pick failed");
                        break;
                    }
                }
            }
        }
    }

    async fn place(&mut self, mode: usize, order_id: String) {
        let order = match self.store.get_order(&order_id).await {
            Ok(Some(d)) => d.order,
            Ok(None) | Err(_) => {
                tracing::warn!(order = %order_id, "order for a line is gone; back to its queue");
                self.settle(&order_id, LINE_HOLDER, DialResult::Interrupted)
                    .await;
                return;
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let mode_id = self.modes[mode].id.clone();
        if let Err(e) = self
            .dialup
            .pacer_call(&mode_id, id, CallEvent::Dialled, self.clock.now())
            .await
        {
            tracing::warn!(mode = %mode_id, error = %e, "pacer refused a line");
        }
        let ring = self.modes[mode].ring;
        let amd = self.modes[mode].amd.clone();
        let engine = self.engine.clone();
        let phone = order.phone.clone();
        let reports = self.reports.0.clone();
        tracing::info!(mode = %mode_id, order = %order.id, line = id, "predictive line");
        tokio::spawn(async move {
            let end = line::dial(&engine, &phone, ring, amd.as_ref()).await;
            let _ = reports.send((id, end)).await;
        });
        self.lines.insert(
            id,
            Line {
                mode,
                order: order.id,
                phone: order.phone,
                locale: order.locale.unwrap_or_else(|| self.default_locale.clone()),
            },
        );
    }

    /// A line stopped ringing: a live customer waits for an agent; the
    /// others settle their order now.
    async fn line_ended(&mut self, id: u64, end: Result<LineEnd, CallError>) {
        let Some(line) = self.lines.get(&id) else {
            return;
        };
        let mode = self.modes[line.mode].id.clone();
        let order = line.order.clone();
        let now = self.clock.now();
        let (event, result) = match end {
            Ok(LineEnd::Answered(answered)) => {
                let _ = self
                    .dialup
                    .pacer_call(&mode, id, CallEvent::AnsweredLive, now)
                    .await;
                let at = answered.window_from.saturating_duration_since(self.origin);
                self.waiting.push(Waiting {
                    id,
                    line: answered,
                    window_from: at,
                    wait: HarborWait::new(at),
                });
                return;
            }
            Ok(LineEnd::Machine(machine)) => {
                self.machine(id, machine).await;
                return;
            }
            // Answered, then gone while AMD listened: tried again later.
            Ok(LineEnd::Unanswered(LegCause::Hangup)) => {
                (CallEvent::NoAnswer, DialResult::NoAnswer)
            }
            Ok(LineEnd::Unanswered(LegCause::Busy)) => (CallEvent::Busy, DialResult::Busy),
            Ok(LineEnd::Unanswered(LegCause::NoAnswer)) => {
                (CallEvent::NoAnswer, DialResult::NoAnswer)
            }
            Ok(LineEnd::Unanswered(_)) => (CallEvent::Failed, DialResult::Failed),
            // We could not place it (no port, no trunk up): not the
            // customer's doing, no attempt spent.
            Err(e) => {
                tracing::warn!(%mode, %order, error = %e, "line not placed");
                (CallEvent::Failed, DialResult::Interrupted)
            }
        };
        self.lines.remove(&id);
        let _ = self.dialup.pacer_call(&mode, id, event, now).await;
        self.settle(&order, LINE_HOLDER, result).await;
    }

    /// An answering machine: never an agent, never a live answer. Hung up
    /// on, or left the mode's message after its beep; the order is put off
    /// like an unanswered call (one attempt).
    async fn machine(&mut self, id: u64, machine: line::MachineLine) {
        let Some(line) = self.lines.remove(&id) else {
            machine.hang_up(&self.engine).await;
            return;
        };
        let m = &self.modes[line.mode];
        let d = machine.decision;
        tracing::info!(mode = %m.id, order = %line.order, reason = d.reason.as_str(), decision_ms = d.decision_ms, policy = ?m.policy, "answering machine: never an agent");
        let engine = self.engine.clone();
        if m.policy == AmdPolicy::Message {
            let (locale, prompts) = self.message_for(&line);
            tokio::spawn(async move {
                if let Err(e) = machine.leave_message(&engine, &locale, &prompts).await {
                    tracing::warn!(error = %e, "message to an answering machine failed");
                }
            });
        } else {
            tokio::spawn(async move { machine.hang_up(&engine).await });
        }
        let mode = m.id.clone();
        let now = self.clock.now();
        let _ = self
            .dialup
            .pacer_call(&mode, id, CallEvent::Machine, now)
            .await;
        self.settle(&line.order, LINE_HOLDER, DialResult::NoAnswer)
            .await;
    }

    /// The safe-harbor prompts for a line's customer: their locale, else
    /// its language, else the default locale.
    fn message_for(&self, line: &Line) -> (String, Vec<String>) {
        let m = &self.modes[line.mode];
        let lang = line.locale.split(['-', '_']).next().unwrap_or("");
        [line.locale.as_str(), lang, self.default_locale.as_str()]
            .into_iter()
            .find_map(|l| m.messages.get(l).map(|p| (l.to_string(), p.clone())))
            .unwrap_or_default()
    }

    /// Connect waiting customers to free agents of their mode, oldest
    /// first; play the message to those whose window is spent.
    async fn route_waiting(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        let ready = self.floor.ready().await;
        let mut free: Vec<String> = ready
            .into_iter()
            .filter(|a| self.desk.session_free(a))
            .collect();
        let mut keep = Vec::new();
        let waiting = std::mem::take(&mut self.waiting);
        for mut w in waiting {
            let Some(mode) = self.lines.get(&w.id).map(|l| l.mode) else {
                // Never left without its line; if it were, end the call.
                w.line.hang_up(&self.engine).await;
                continue;
            };
            if w.line.hung_up() {
                self.gone_while_waiting(w).await;
                continue;
            }
            let agents = &self.modes[mode].agents;
            let agent = free.iter().position(|a| agents.contains(a));
            match w.wait.poll(self.now(), agent.is_some()) {
                Routing::Wait { .. } => keep.push(w),
                Routing::Connect { waited } => {
                    let agent = free.remove(agent.unwrap_or_default());
                    if let Some(back) = self.connect(w.id, w.line, &agent, waited).await {
                        // Refused at the last moment: wait on, same window.
                        w.line = back;
                        w.wait = HarborWait::new(w.window_from);
                        keep.push(w);
                    }
                }
                Routing::PlayMessage { heard_after } => {
                    self.abandon(w.id, w.line, heard_after).await
                }
            }
        }
        self.waiting = keep;
    }

    /// Hand the customer to `agent`: reserve, write the call and the
    /// order's new holder, connect into the session. `Some(line)`: refused,
    /// nothing changed.
    async fn connect(
        &mut self,
        id: u64,
        answered: AnsweredLine,
        agent: &str,
        waited: Duration,
    ) -> Option<AnsweredLine> {
        let line = self.lines.get(&id)?;
        let (mode, order, phone) = (
            self.modes[line.mode].id.clone(),
            line.order.clone(),
            line.phone.clone(),
        );
        let now = self.clock.now();
        let call_id = crate::api::random_id("call_");
        let reserve = AgentInput::Reserve {
            call: call_id.clone(),
        };
        if self.floor.apply(agent, reserve, now).await.is_err() {
            return Some(answered);
        }
        if let Err(e) = self.dialup.hand_over(&order, LINE_HOLDER, agent, now).await {
            tracing::warn!(%order, %agent, error = %e, "line not handed over");
            self.floor.release(agent, &call_id, now).await;
            return Some(answered);
        }
        let new = NewAgentCall {
            id: call_id.clone(),
            agent_id: agent.to_string(),
            to: phone,
            order_id: Some(order.clone()),
        };
        let call = match self.store.insert_agent_call(&new, now).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(%order, error = %e, "call row not written; customer waits on");
                let _ = self.dialup.hand_over(&order, agent, LINE_HOLDER, now).await;
                self.floor.release(agent, &call_id, now).await;
                return Some(answered);
            }
        };
        let since_answer = answered.answered_at.elapsed();
        match self.desk.connect_call(&call, answered) {
            Ok(()) => {
                // `waited_ms` runs from the safe-harbor window's start (the
                // answer, or with AMD the end of the greeting).
                tracing::info!(%mode, %order, %agent, call = %call_id, waited_ms = waited.as_millis() as u64, since_answer_ms = since_answer.as_millis() as u64, "live customer connected to an agent");
                self.lines.remove(&id);
                let _ = self
                    .dialup
                    .pacer_call(&mode, id, CallEvent::Connected, now)
                    .await;
                self.taken.insert(
                    call_id,
                    Taken {
                        order,
                        agent: agent.to_string(),
                    },
                );
                None
            }
            Err((e, back)) => {
                tracing::warn!(%order, %agent, error = %e, "session refused the customer");
                let _ = self.dialup.hand_over(&order, agent, LINE_HOLDER, now).await;
                self.floor.release(agent, &call_id, now).await;
                let failed = crate::store::AgentCallUpdate::failed_locally("busy");
                if let Err(e) = self.store.update_agent_call(&call_id, &failed, now).await {
                    tracing::error!(call = %call_id, error = %e, "could not mark the call failed");
                }
                back
            }
        }
    }

    /// No agent in time: the message, then hang up; abandoned. `planned`
    /// is the decision's own figure (decision time + the playback lead);
    /// the line logs when the message's first packet really went out
    /// ([`AnsweredLine::play_message`]).
    async fn abandon(&mut self, id: u64, answered: AnsweredLine, planned: Duration) {
        let Some(line) = self.lines.remove(&id) else {
            answered.hang_up(&self.engine).await;
            return;
        };
        let (locale, prompts) = self.message_for(&line);
        let m = &self.modes[line.mode];
        tracing::info!(mode = %m.id, order = %line.order, planned_heard_after_ms = planned.as_millis() as u64, "abandoned: no agent within the safe-harbor window, message starts");
        let engine = self.engine.clone();
        tokio::spawn(async move {
            if let Err(e) = answered.play_message(&engine, &locale, &prompts).await {
                tracing::warn!(error = %e, "safe-harbor message failed");
            }
        });
        let now = self.clock.now();
        let _ = self
            .dialup
            .pacer_call(&m.id, id, CallEvent::Abandoned, now)
            .await;
        let order = line.order.clone();
        self.settle(&order, LINE_HOLDER, DialResult::Dropped).await;
    }

    /// The customer hung up while waiting for an agent: no agent, no
    /// message. Counted as abandoned: the rule (16 CFR 310.4(b)(4)(iii))
    /// asks whether a person reached them within the 2 s, and none did;
    /// counting it keeps the 30-day rate on the safe side of the cap. The
    /// order goes back to its queue like any abandoned one.
    async fn gone_while_waiting(&mut self, w: Waiting) {
        let Some(line) = self.lines.remove(&w.id) else {
            return;
        };
        let m = &self.modes[line.mode];
        let waited = self.now().saturating_sub(w.window_from);
        tracing::info!(mode = %m.id, order = %line.order, waited_ms = waited.as_millis() as u64, "abandoned: the customer hung up while waiting for an agent");
        let mode = m.id.clone();
        let now = self.clock.now();
        let _ = self
            .dialup
            .pacer_call(&mode, w.id, CallEvent::Abandoned, now)
            .await;
        self.settle(&line.order, LINE_HOLDER, DialResult::Dropped)
            .await;
    }

    /// A connected customer's call ended: the disposition settles it, or
    /// the wrap-up timeout does ([`Predictive::floor_moved`]); a call that
    /// never bridged (hung up meanwhile) frees the agent and is dropped.
    async fn call_ended(&mut self, call: &str, end: &CallEnd) {
        let Some(t) = self.taken.remove(call) else {
            return;
        };
        if !end.failed {
            self.wrapping.insert(call.to_string(), t);
            return;
        }
        self.floor.release(&t.agent, call, self.clock.now()).await;
        self.settle(&t.order, &t.agent, DialResult::Dropped).await;
    }

    async fn settle(&self, order: &str, holder: &str, result: DialResult) {
        self.dialup
            .settle(order, holder, result, self.clock.now())
            .await;
    }
}
