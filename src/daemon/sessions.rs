//! The desk's register of agents' nailed-up sessions (issue #10): one
//! running session per logged-in agent, what the API shows of it, and the
//! session events, re-published for the agent state machine to consume
//! ([`Sessions::subscribe`]).
//!
//! The lock here is taken on API requests and session events only, never
//! on the media path.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::{broadcast, mpsc};

use crate::api::{ConnectTiming, ControlError, SessionView};
use crate::call::live::SessionEvent;
use crate::call::session::driver::{CustomerCall, SessionCommand};

/// Commands queued per session (login, a customer, logout).
const COMMANDS: usize = 8;
/// Session events a slow subscriber may fall behind by.
const EVENTS: usize = 256;

struct Entry {
    commands: mpsc::Sender<SessionCommand>,
    view: SessionView,
}

/// Every live session, by agent id.
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
    events: broadcast::Sender<(String, SessionEvent)>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            map: Mutex::new(HashMap::new()),
            events: broadcast::channel(EVENTS).0,
        }
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every session event from now on, tagged with its agent id (for the
    /// agent state machine and its SSE stream).
    pub fn subscribe(&self) -> broadcast::Receiver<(String, SessionEvent)> {
        self.events.subscribe()
    }

    pub fn view(&self, agent_id: &str) -> Option<SessionView> {
        self.lock().get(agent_id).map(|e| e.view.clone())
    }

    /// Register a new session calling `target`; the receiver feeds its driver.
    pub fn begin(
        &self,
        agent_id: &str,
        target: &str,
    ) -> Result<mpsc::Receiver<SessionCommand>, ControlError> {
        let mut map = self.lock();
        if map.contains_key(agent_id) {
            return Err(ControlError::SessionExists);
        }
        let (tx, rx) = mpsc::channel(COMMANDS);
        map.insert(
            agent_id.to_string(),
            Entry {
                commands: tx,
                view: SessionView {
                    state: "connecting",
                    target: target.to_string(),
                    call_id: None,
                    customers: 0,
                    last_connect: None,
                },
            },
        );
        Ok(rx)
    }

    pub fn logout(&self, agent_id: &str) -> Result<(), ControlError> {
        let map = self.lock();
        let e = map.get(agent_id).ok_or(ControlError::NoSession)?;
        e.commands
            .try_send(SessionCommand::Logout)
            .map_err(|_| ControlError::Busy)
    }

    /// Does the agent have a session (in any state)?
    pub fn has(&self, agent_id: &str) -> bool {
        self.lock().contains_key(agent_id)
    }

    /// Hand a customer call to the agent's session. `Busy` unless the
    /// session is up with no customer; on success the call id is shown at
    /// once (so a second click-to-call is refused straight away). A refused
    /// call comes back with the error (an answered line must be hung up).
    pub fn connect(
        &self,
        agent_id: &str,
        call: Box<CustomerCall>,
    ) -> Result<(), (ControlError, Box<CustomerCall>)> {
        let mut map = self.lock();
        let Some(e) = map.get_mut(agent_id) else {
            return Err((ControlError::NoSession, call));
        };
        if e.view.state != "up" {
            return Err((ControlError::Busy, call));
        }
        let call_id = call.spec.call_id.clone();
        // A slot first, so a full queue hands the call back untouched.
        let Ok(slot) = e.commands.try_reserve() else {
            return Err((ControlError::Busy, call));
        };
        slot.send(SessionCommand::Connect(call));
        e.view.state = "in_call";
        e.view.call_id = Some(call_id);
        Ok(())
    }

    /// A call that was handed to the session ended (served or refused).
    pub fn call_over(&self, agent_id: &str, call_id: &str) {
        if let Some(e) = self.lock().get_mut(agent_id) {
            if e.view.call_id.as_deref() == Some(call_id) {
                e.view.call_id = None;
                e.view.state = "up";
            }
        }
    }

    /// Follow one session's events until it is down: keep the view, log,
    /// re-publish.
    pub async fn record(&self, agent_id: String, mut events: mpsc::Receiver<SessionEvent>) {
        while let Some(ev) = events.recv().await {
            let down = matches!(ev, SessionEvent::Down { .. });
            {
                let mut map = self.lock();
                if down {
                    map.remove(&agent_id);
                } else if let Some(e) = map.get_mut(&agent_id) {
                    apply(&mut e.view, &ev);
                }
            }
            tracing::info!(agent = %agent_id, event = ?ev, "session");
            // An error only means nobody subscribes.
            let _ = self.events.send((agent_id.clone(), ev));
            if down {
                return;
            }
        }
        // The driver ended without a Down (it panicked): forget the session.
        self.lock().remove(&agent_id);
    }
}

fn apply(view: &mut SessionView, ev: &SessionEvent) {
    match ev {
        SessionEvent::Connecting | SessionEvent::Down { .. } => {}
        SessionEvent::Up => view.state = "up",
        SessionEvent::CustomerConnected { call_id } => {
            view.state = "in_call";
            view.call_id = Some(call_id.clone());
        }
        SessionEvent::CustomerEnded {
            call_id,
            connect_latency,
            first_rtp_after,
            ..
        } => {
            view.customers += 1;
            if let Some(l) = connect_latency {
                view.last_connect = Some(ConnectTiming {
                    call_id: call_id.clone(),
                    latency_us: l.as_micros() as u64,
                    first_rtp_us: first_rtp_after.map(|d| d.as_micros() as u64),
                });
            }
            if view.call_id.as_deref() == Some(call_id) {
                view.call_id = None;
                view.state = "up";
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::live::{AgentCallSpec, LegCause};
    use std::time::Duration;

    fn call(id: &str) -> (CustomerCall, mpsc::Receiver<crate::call::LiveEvent>) {
        let (tx, rx) = mpsc::channel(1);
        let (out, out_rx) = mpsc::channel(1);
        let c = CustomerCall {
            spec: AgentCallSpec {
                call_id: id.into(),
                agent_uri: String::new(),
                to: "923001234567".into(),
                agent_srtp: crate::config::SrtpMode::Off,
            },
            commands: rx,
            hang_up: tx,
            out,
            adopted: None,
        };
        (c, out_rx)
    }

    #[tokio::test]
    async fn one_session_per_agent_one_customer_at_a_time_and_forgotten_when_down() {
        let s = std::sync::Arc::new(Sessions::default());
        let mut sub = s.subscribe();
        let mut cmds = s.begin("ayesha", "sip:1001@127.0.0.1:5080").expect("begin");
        assert_eq!(
            s.begin("ayesha", "sip:x@127.0.0.1").err(),
            Some(ControlError::SessionExists)
        );
        assert_eq!(
            s.connect("ayesha", Box::new(call("call_0").0))
                .err()
                .map(|(e, _)| e),
            Some(ControlError::Busy),
            "not up yet"
        );
        let (tx, rx) = mpsc::channel(8);
        let rec = tokio::spawn({
            let s = s.clone();
            async move { s.record("ayesha".into(), rx).await }
        });
        tx.send(SessionEvent::Up).await.unwrap();
        assert_eq!(sub.recv().await.unwrap().1, SessionEvent::Up);
        assert_eq!(s.view("ayesha").unwrap().state, "up");

        s.connect("ayesha", Box::new(call("call_1").0))
            .expect("connect");
        assert!(matches!(
            cmds.recv().await,
            Some(SessionCommand::Connect(c)) if c.spec.call_id == "call_1"
        ));
        assert_eq!(s.view("ayesha").unwrap().state, "in_call");
        assert_eq!(
            s.connect("ayesha", Box::new(call("call_2").0))
                .err()
                .map(|(e, _)| e),
            Some(ControlError::Busy)
        );
        tx.send(SessionEvent::CustomerEnded {
            call_id: "call_1".into(),
            agent_spoke: true,
            connect_latency: Some(Duration::from_micros(61_500)),
            first_rtp_after: Some(Duration::from_micros(20_250)),
        })
        .await
        .unwrap();
        sub.recv().await.unwrap();
        let v = s.view("ayesha").unwrap();
        assert_eq!((v.state, v.customers), ("up", 1));
        assert_eq!(
            v.last_connect,
            Some(ConnectTiming {
                call_id: "call_1".into(),
                latency_us: 61_500,
                first_rtp_us: Some(20_250),
            })
        );

        s.logout("ayesha").expect("logout");
        assert!(matches!(cmds.recv().await, Some(SessionCommand::Logout)));
        tx.send(SessionEvent::Down {
            cause: LegCause::ApiHangup,
        })
        .await
        .unwrap();
        rec.await.unwrap();
        assert!(s.view("ayesha").is_none());
        assert_eq!(s.logout("ayesha").err(), Some(ControlError::NoSession));
        s.begin("ayesha", "sip:1001@127.0.0.1:5080")
            .expect("a new login after the last ended");
    }
}
