//! The agents' floor the daemon runs (issue #10): one sans-IO
//! [`AgentMachine`] per agent behind a lock, every transition written to the
//! agent log before it is published, a timer for wrap-up timeouts.
//!
//! Like [`crate::dialup`], it is a module of its own beside `store` and
//! `call`: the daemon builds it, the API borrows a [`Floor`] handle, and the
//! session leg (`src/call/session*`, built on another branch) drives it
//! through [`Floor::apply`] with the same [`AgentInput`]s the API uses.
//!
//! Order of work per input: under the lock, apply it to a copy of the
//! agent's machine, append the record to the store, and only then keep the
//! copy and publish the record. A failed write leaves the machine as it
//! was, so memory never runs ahead of the log. At start every agent whose
//! last record is not `offline` is logged out with reason `restart`
//! (sessions do not survive a restart: their SIP legs died with the process).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use orderline_dialer::agents::{
    day_seconds, day_start, AgentError, AgentInput, AgentMachine, AgentState, DaySeconds,
    FloorRules, Reason, StateKind, Transition,
};
use tokio::sync::{broadcast, Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::FloorSettings;
use crate::store::{LogRecord, Store, StoreError};

/// Why an input to the floor failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FloorError {
    /// The rules refuse the move (not logged in, unknown pause code, ...).
    #[error(transparent)]
    Rule(#[from] AgentError),
    #[error("agent {0:?} not found")]
    UnknownAgent(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One published change: `agent_id` moved as `transition` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloorEvent {
    pub agent_id: String,
    pub transition: Transition,
}

/// An agent as the supervisor sees it at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    pub state: AgentState,
    pub since: DateTime<Utc>,
    /// Whole seconds in the current state at `now`.
    pub seconds_in_state: i64,
    /// Today's seconds per state (today in the floor's zone).
    pub today: DaySeconds,
}

/// How many changes a slow SSE client may fall behind before it resyncs.
const EVENT_BUFFER: usize = 256;

/// The floor shared by the daemon, the API and the session leg. Cheap to clone.
#[derive(Clone)]
pub struct Floor {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    rules: FloorRules,
    timezone: Tz,
    agents: Mutex<HashMap<String, AgentMachine>>,
    events: broadcast::Sender<FloorEvent>,
    /// Woken when a deadline may have moved (an agent entered wrap-up).
    deadlines: Notify,
    /// When the floor started: "offline since" for agents never logged.
    started: DateTime<Utc>,
}

impl Floor {
    /// Rebuild every agent's machine from its last log record and log out
    /// those a restart cut off (returned, for the start-up log line).
    pub async fn start(
        store: Store,
        config: FloorSettings,
        now: DateTime<Utc>,
    ) -> Result<(Floor, Vec<String>), FloorError> {
        let mut agents = HashMap::new();
        let mut logged_out = Vec::new();
        for last in store.last_agent_states().await? {
            let mut machine = AgentMachine::resume(last.to, last.at);
            if let Some(t) = machine.restart(now) {
                store.append_agent_log(&last.agent_id, &t).await?;
                logged_out.push(last.agent_id.clone());
            }
            agents.insert(last.agent_id, machine);
        }
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let floor = Floor {
            inner: Arc::new(Inner {
                store,
                rules: config.rules,
                timezone: config.timezone,
                agents: Mutex::new(agents),
                events,
                deadlines: Notify::new(),
                started: now,
            }),
        };
        Ok((floor, logged_out))
    }

    /// The configured rules (pause codes, dispositions, wrap-up).
    pub fn rules(&self) -> &FloorRules {
        &self.inner.rules
    }

    /// Apply `input` to `agent_id` at `now`: the session driver, the dialer
    /// and the API all come through here. `Ok(None)` when nothing changed.
    pub async fn apply(
        &self,
        agent_id: &str,
        input: AgentInput,
        now: DateTime<Utc>,
    ) -> Result<Option<Transition>, FloorError> {
        let mut agents = self.inner.agents.lock().await;
        let mut machine = match agents.get(agent_id) {
            Some(m) => m.clone(),
            None => {
                if self.inner.store.get_agent(agent_id).await?.is_none() {
                    return Err(FloorError::UnknownAgent(agent_id.to_string()));
                }
                AgentMachine::new(self.inner.started)
            }
        };
        let Some(t) = machine.apply(&self.inner.rules, input, now)? else {
            return Ok(None);
        };
        self.inner.store.append_agent_log(agent_id, &t).await?;
        agents.insert(agent_id.to_string(), machine);
        drop(agents);
        self.publish(agent_id, &t);
        Ok(Some(t))
    }

    /// End every wrap-up whose timeout passed by `now`; returns how many.
    pub async fn poll(&self, now: DateTime<Utc>) -> Result<usize, FloorError> {
        let mut agents = self.inner.agents.lock().await;
        let mut done = 0;
        for (id, machine) in agents.iter_mut() {
            let mut next = machine.clone();
            let Some(t) = next.poll(&self.inner.rules, now) else {
                continue;
            };
            self.inner.store.append_agent_log(id, &t).await?;
            *machine = next;
            self.publish(id, &t);
            done += 1;
        }
        Ok(done)
    }

    /// The earliest wrap-up deadline on the floor.
    pub async fn next_deadline(&self) -> Option<DateTime<Utc>> {
        let agents = self.inner.agents.lock().await;
        agents
            .values()
            .filter_map(|m| m.next_deadline(&self.inner.rules))
            .min()
    }

    /// The timer task: sleep to the next deadline (or until one may have
    /// moved), then [`poll`](Self::poll) with the clock's time.
    pub async fn run(self, clock: Clock, stop: CancellationToken) {
        /// Without a deadline, look again at least this often.
        const IDLE: std::time::Duration = std::time::Duration::from_secs(60);
        loop {
            let wait = match self.next_deadline().await {
                Some(at) => (at - clock.now()).to_std().unwrap_or_default(),
                None => IDLE,
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.inner.deadlines.notified() => continue,
                _ = tokio::time::sleep(wait) => {}
            }
            if let Err(e) = self.poll(clock.now()).await {
                tracing::error!(error = %e, "wrap-up timeouts could not be written");
            }
        }
    }

    /// Live changes, for SSE streams. A receiver that lags should re-read
    /// the agent's view.
    pub fn subscribe(&self) -> broadcast::Receiver<FloorEvent> {
        self.inner.events.subscribe()
    }

    /// Where `agent_id` is and since when; offline since start for an agent
    /// never logged in.
    pub async fn state(&self, agent_id: &str) -> (AgentState, DateTime<Utc>) {
        let agents = self.inner.agents.lock().await;
        match agents.get(agent_id) {
            Some(m) => (m.state().clone(), m.since()),
            None => (AgentState::Offline, self.inner.started),
        }
    }

    /// The supervisor's view of `agent_id` at `now` (the caller checked the
    /// agent exists).
    pub async fn view(&self, agent_id: &str, now: DateTime<Utc>) -> Result<AgentView, FloorError> {
        let (state, since) = self.state(agent_id).await;
        let today = now.with_timezone(&self.inner.timezone).date_naive();
        let start = day_start(today, self.inner.timezone);
        let records = self.inner.store.agent_log_since(agent_id, start).await?;
        let marks: Vec<(DateTime<Utc>, StateKind)> = records.iter().map(LogRecord::mark).collect();
        Ok(AgentView {
            seconds_in_state: (now - since).num_seconds().max(0),
            today: day_seconds(&marks, today, self.inner.timezone, now),
            state,
            since,
        })
    }

    /// Back to ready from the reservation for `call`, as the dialers do when
    /// a reserved customer never came through. An agent who moved meanwhile
    /// (paused, logged out) stays where they are: logged at debug.
    pub async fn release(&self, agent_id: &str, call: &str, now: DateTime<Utc>) {
        let input = AgentInput::Release {
            call: call.to_string(),
        };
        if let Err(e) = self.apply(agent_id, input, now).await {
            tracing::debug!(agent = %agent_id, %call, error = %e, "agent not released (moved meanwhile)");
        }
    }

    /// Every agent `ready` now, by id (the operator dialer's candidates).
    pub async fn ready(&self) -> Vec<String> {
        let agents = self.inner.agents.lock().await;
        let mut ids: Vec<String> = agents
            .iter()
            .filter(|(_, m)| *m.state() == AgentState::Ready)
            .map(|(id, _)| id.clone())
            .collect();
        // The agent waiting longest gets the next customer (fair share).
        ids.sort_by_key(|id| agents.get(id).map(AgentMachine::since));
        ids
    }

    /// How many of `agent_ids` are in each state now (an agent the floor
    /// has not seen is offline): the supervisor's counts and the pacer's
    /// "ready agents".
    pub async fn counts(&self, agent_ids: &[String]) -> Vec<(StateKind, usize)> {
        let agents = self.inner.agents.lock().await;
        let mut counts: Vec<(StateKind, usize)> = StateKind::ALL.iter().map(|k| (*k, 0)).collect();
        for id in agent_ids {
            let kind = agents
                .get(id)
                .map_or(StateKind::Offline, |m| m.state().kind());
            if let Some(slot) = counts.iter_mut().find(|(k, _)| *k == kind) {
                slot.1 += 1;
            }
        }
        counts
    }

    fn publish(&self, agent_id: &str, t: &Transition) {
        if matches!(t.to, AgentState::WrapUp { .. }) || t.reason == Reason::WrapUpTimeout {
            self.inner.deadlines.notify_one();
        }
        // No subscriber is not an error: nobody is watching.
        let _ = self.inner.events.send(FloorEvent {
            agent_id: agent_id.to_string(),
            transition: t.clone(),
        });
    }
}
