//! The agents' desk: runs click-to-call B2BUA calls for the API and writes
//! down what happens on them (call status and causes, payment steps and
//! results with their CRM note and webhook), publishing payment progress to
//! the agent page's event streams.
//!
//! The call layer ([`crate::call::agent_call`]) knows no store; each call
//! reports [`LiveEvent`]s on a bounded channel, and one recorder task per
//! call writes them in order. The store is the arbiter between the agent's
//! "X" and the caller's first key: both are conditional updates on the
//! payment's `pending` status, so exactly one of them wins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use crate::api::{
    CallControl, ControlError, DialRequest, PaymentHub, PaymentRequest, PaymentUpdate,
    SessionRequest, SessionView,
};
use crate::call::line::AnsweredLine;
use crate::call::session::driver::{self as session_driver, CustomerCall, SessionSpec};
use crate::call::{agent_call, AgentCallSpec, CallCommand, CallEnd, Engine, LiveEvent};
use crate::ivr::payment::{EndReason, PaymentOutcome};
use crate::media::IdleSound;
use crate::metrics::Metrics;
use crate::payments::{ChargeResult, ChargeStatus};
use crate::store::{
    AgentCallStatus, AgentCallUpdate, PaymentResult, PaymentStatus, PaymentStep, Store, StoreError,
};

/// Commands queued per live call (the API never waits on a call).
const COMMANDS: usize = 8;
/// Reports queued per call before the call task waits for the recorder.
const REPORTS: usize = 64;
/// Store writes that fail are retried this many times (a busy SQLite, a
/// PostgreSQL failover) before the error is logged and the write given up.
const WRITE_ATTEMPTS: u32 = 5;
/// Call ends a slow subscriber may fall behind by.
const CALL_ENDS: usize = 1024;

/// Cheap to clone; the API holds it as `Arc<dyn CallControl>`.
#[derive(Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<Engine>,
    store: Store,
    hub: Arc<PaymentHub>,
    metrics: Arc<Metrics>,
    live: Mutex<HashMap<String, mpsc::Sender<CallCommand>>>,
    tasks: TaskTracker,
    /// Registered agents' phones are rung at their binding (issue #10).
    registrar: Option<crate::sip::RegistrarLink>,
    /// Logged-in agents' nailed-up sessions (issue #10).
    sessions: Arc<super::sessions::Sessions>,
    /// The agents' floor: a click-to-call moves its agent's state
    /// ([`Desk::follow_floor`]); `None` in tests that run no floor.
    floor: Option<crate::floor::Floor>,
    /// Which agent each live call belongs to, for the floor.
    agents: Mutex<HashMap<String, String>>,
    /// Every call's end, once recorded (the operator dialer settles its
    /// picked orders from these).
    ends: tokio::sync::broadcast::Sender<(String, CallEnd)>,
}

impl Desk {
    pub fn new(
        engine: Arc<Engine>,
        store: Store,
        hub: Arc<PaymentHub>,
        metrics: Arc<Metrics>,
    ) -> Desk {
        Desk::with_registrar(engine, store, hub, metrics, None, None)
    }

    /// A desk that rings agents who register (`sip_user`) at their most
    /// recent binding instead of their stored URI, and that moves each
    /// calling agent's state on `floor` as its calls connect and end.
    pub fn with_registrar(
        engine: Arc<Engine>,
        store: Store,
        hub: Arc<PaymentHub>,
        metrics: Arc<Metrics>,
        registrar: Option<crate::sip::RegistrarLink>,
        floor: Option<crate::floor::Floor>,
    ) -> Desk {
        Desk {
            inner: Arc::new(Inner {
                registrar,
                floor,
                agents: Mutex::new(HashMap::new()),
                engine,
                store,
                hub,
                metrics,
                live: Mutex::new(HashMap::new()),
                tasks: TaskTracker::new(),
                sessions: Arc::default(),
                ends: tokio::sync::broadcast::channel(CALL_ENDS).0,
            }),
        }
    }

    /// Stop taking calls and wait until every call and its record are
    /// finished (the SIP endpoint's shutdown has sent the BYEs).
    pub async fn drain(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    /// Every agent session's events (issue #10), for the agent state machine.
    pub fn session_events(
        &self,
    ) -> tokio::sync::broadcast::Receiver<(String, crate::call::live::SessionEvent)> {
        self.inner.sessions.subscribe()
    }

    /// Every call's end from now on, after it is written down.
    pub fn call_ends(&self) -> tokio::sync::broadcast::Receiver<(String, CallEnd)> {
        self.inner.ends.subscribe()
    }

    /// Whether the agent is logged in with a session (its leg up or on
    /// its way, busy or free).
    pub fn in_session(&self, agent_id: &str) -> bool {
        self.inner.sessions.view(agent_id).is_some()
    }

    /// Whether the agent's session leg is up and free for a customer.
    pub fn session_free(&self, agent_id: &str) -> bool {
        self.inner
            .sessions
            .view(agent_id)
            .is_some_and(|v| v.state == "up")
    }

    /// Where to call an agent: its live binding when it registers, else
    /// its static `sip_uri`.
    fn agent_target(&self, agent_id: &str, sip_uri: String) -> Result<String, ControlError> {
        match self.inner.registrar.as_ref().and_then(|link| {
            super::registrations::agent_target(link, agent_id, link.unix_ms())
        }) {
            Some(Some(contact)) => Ok(contact),
            Some(None) => Err(ControlError::NoTarget(
                "the agent's phone is not registered (no live binding) and the agent has no sip_uri",
            )),
            None if sip_uri.is_empty() => Err(ControlError::NoTarget(
                "the agent neither registers a phone (sip_user) nor has a sip_uri",
            )),
            None => Ok(sip_uri),
        }
    }

    /// Connect a click-to-call into the agent's live session: only the
    /// customer is dialled. The API's call row is moved along as usual.
    fn dial_into_session(&self, req: DialRequest) -> Result<(), ControlError> {
        self.connect_into_session(req, None).map_err(|(e, _)| e)
    }

    /// Connect a predictive line's answered customer into the agent's live
    /// session (issue #12); the call row exists. Refused: the line comes
    /// back, still answered, for the caller to route elsewhere.
    pub fn connect_line(
        &self,
        req: DialRequest,
        line: AnsweredLine,
    ) -> Result<(), (ControlError, Option<AnsweredLine>)> {
        if self.inner.tasks.is_closed() {
            return Err((ControlError::Unavailable, Some(line)));
        }
        self.connect_into_session(req, Some(line))
    }

    /// [`Desk::connect_line`] for the agent call row written for the line
    /// (its id, agent, number and order: what the console pops).
    pub fn connect_call(
        &self,
        call: &crate::store::AgentCall,
        line: AnsweredLine,
    ) -> Result<(), (ControlError, Option<AnsweredLine>)> {
        let req = DialRequest {
            call_id: call.id.clone(),
            agent_id: call.agent_id.clone(),
            agent_name: call.agent_name.clone(),
            agent_uri: String::new(),
            // Joins the session's leg, which is up already with its own SRTP.
            agent_srtp: crate::config::SrtpMode::Off,
            to: call.to.clone(),
            order_id: call.order_id.clone(),
        };
        self.connect_line(req, line)
    }

    fn connect_into_session(
        &self,
        req: DialRequest,
        adopted: Option<AnsweredLine>,
    ) -> Result<(), (ControlError, Option<AnsweredLine>)> {
        let (tx, rx) = mpsc::channel(COMMANDS);
        let (out_tx, out_rx) = mpsc::channel(REPORTS);
        let call = Box::new(CustomerCall {
            spec: AgentCallSpec {
                call_id: req.call_id.clone(),
                // The session's leg is rung already: no URI, no SRTP here.
                agent_uri: String::new(),
                to: req.to,
                agent_srtp: crate::config::SrtpMode::Off,
            },
            commands: rx,
            hang_up: tx.clone(),
            out: out_tx,
            adopted,
        });
        if let Err((e, call)) = self.inner.sessions.connect(&req.agent_id, call) {
            return Err((e, call.adopted));
        }
        self.inner
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(req.call_id.clone(), tx);
        let live = LiveCall::new(self.inner.metrics.clone());
        let desk = self.clone();
        let sessions = self.inner.sessions.clone();
        self.inner.tasks.spawn(async move {
            desk.record(req.call_id.clone(), out_rx).await;
            sessions.call_over(&req.agent_id, &req.call_id);
            drop(live);
        });
        Ok(())
    }

    fn sender(&self, call_id: &str) -> Option<mpsc::Sender<CallCommand>> {
        self.inner
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(call_id)
            .cloned()
    }
}

impl CallControl for Desk {
    fn dial(&self, req: DialRequest) -> Result<(), ControlError> {
        if self.inner.tasks.is_closed() {
            return Err(ControlError::Unavailable);
        }
        if self.inner.sessions.has(&req.agent_id) {
            return self.dial_into_session(req);
        }
        let agent_uri = match self.inner.registrar.as_ref().and_then(|link| {
            super::registrations::agent_target(link, &req.agent_id, link.unix_ms())
        }) {
            None => req.agent_uri,
            Some(Some(contact)) => contact,
            Some(None) => return Err(ControlError::NotRegistered),
        };
        let (tx, rx) = mpsc::channel(COMMANDS);
        let (out_tx, out_rx) = mpsc::channel(REPORTS);
        self.inner
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(req.call_id.clone(), tx);
        self.inner
            .agents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(req.call_id.clone(), req.agent_id.clone());
        let spec = AgentCallSpec {
            call_id: req.call_id.clone(),
            agent_uri,
            to: req.to,
            agent_srtp: req.agent_srtp,
        };
        let live = LiveCall::new(self.inner.metrics.clone());
        let call = agent_call::run(self.inner.engine.clone(), spec, rx, out_tx);
        self.inner.tasks.spawn(async move {
            call.await;
            drop(live);
        });
        self.inner
            .tasks
            .spawn(self.clone().record(req.call_id, out_rx));
        Ok(())
    }

    fn start_payment(&self, req: PaymentRequest) -> Result<(), ControlError> {
        let tx = self.sender(&req.call_id).ok_or(ControlError::NotLive)?;
        tx.try_send(CallCommand::StartPayment(req))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => ControlError::Busy,
                mpsc::error::TrySendError::Closed(_) => ControlError::NotLive,
            })
    }

    fn payment_cancelled(&self, call_id: &str, payment_id: &str) {
        if let Some(tx) = self.sender(call_id) {
            let _ = tx.try_send(CallCommand::CancelPayment {
                payment_id: payment_id.to_string(),
            });
        }
        // The API wrote the cancel and told the event streams; only count it.
        self.inner
            .metrics
            .payment_finished(PaymentStatus::Cancelled.as_str());
    }

    fn registrations(&self, agent_id: &str) -> Vec<crate::api::Registration> {
        self.inner
            .registrar
            .as_ref()
            .map(|link| super::registrations::shown(link, agent_id, link.unix_ms()))
            .unwrap_or_default()
    }

    fn add_registering_agent(&self, agent_id: &str, sip: &crate::store::SipCredentials) -> bool {
        self.inner
            .registrar
            .as_ref()
            .is_some_and(|link| super::registrations::add_account(link, agent_id, sip))
    }

    fn start_session(&self, req: SessionRequest) -> Result<(), ControlError> {
        if self.inner.tasks.is_closed() {
            return Err(ControlError::Unavailable);
        }
        if self.inner.sessions.has(&req.agent_id) {
            return Err(ControlError::SessionExists);
        }
        let target = self.agent_target(&req.agent_id, req.agent_uri)?;
        let commands = self.inner.sessions.begin(&req.agent_id, &target)?;
        let (ev_tx, ev_rx) = mpsc::channel(REPORTS);
        let spec = SessionSpec {
            agent_id: req.agent_id.clone(),
            agent_uri: target,
            agent_srtp: req.agent_srtp,
            // Comfort noise seeded at the edge (the generator is sans-IO).
            idle: IdleSound::ComfortNoise {
                seed: rand::RngCore::next_u64(&mut rand::rngs::OsRng),
            },
        };
        self.inner.tasks.spawn(session_driver::run(
            self.inner.engine.clone(),
            spec,
            commands,
            ev_tx,
        ));
        let sessions = self.inner.sessions.clone();
        self.inner
            .tasks
            .spawn(async move { sessions.record(req.agent_id, ev_rx).await });
        Ok(())
    }

    fn end_session(&self, agent_id: &str) -> Result<(), ControlError> {
        // A customer on the line is hung up by the session first.
        self.inner.sessions.logout(agent_id)
    }

    fn session(&self, agent_id: &str) -> Option<SessionView> {
        self.inner.sessions.view(agent_id)
    }

    fn hang_up(&self, call_id: &str) -> Result<(), ControlError> {
        let tx = self.sender(call_id).ok_or(ControlError::NotLive)?;
        tx.try_send(CallCommand::HangUp)
            .map_err(|_| ControlError::NotLive)
    }
}

/// What the store keeps of a session's end.
fn payment_result(outcome: &PaymentOutcome, charge: Option<&ChargeResult>) -> PaymentResult {
    let status = match outcome {
        PaymentOutcome::Succeeded => PaymentStatus::Succeeded,
        PaymentOutcome::Failed(_) => PaymentStatus::Failed,
        PaymentOutcome::Cancelled => PaymentStatus::Cancelled,
    };
    let reason = match outcome {
        PaymentOutcome::Failed(r) => Some(EndReason::Failed(r.clone())),
        PaymentOutcome::Succeeded | PaymentOutcome::Cancelled => None,
    };
    PaymentResult {
        status,
        brand: charge.map(|c| c.brand.as_str().to_string()),
        last_four: charge.map(|c| c.last_four.as_str().to_string()),
        token: charge.and_then(|c| c.token.clone()),
        transaction_id: charge
            .filter(|c| c.status != ChargeStatus::Failed)
            .and_then(|c| c.transaction_id.clone()),
        reason,
    }
}

impl Desk {
    /// Write one call's reports down, in order, until it ends.
    async fn record(self, call_id: String, mut reports: mpsc::Receiver<LiveEvent>) {
        while let Some(ev) = reports.recv().await {
            let ended = match &ev {
                LiveEvent::Ended(end) => Some(end.clone()),
                _ => None,
            };
            if ended.is_some() {
                self.inner
                    .live
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&call_id);
            }
            self.follow_floor(&call_id, &ev).await;
            self.write(&call_id, ev).await;
            if let Some(end) = ended {
                // Nobody listening (no operator dialer) is fine.
                let _ = self.inner.ends.send((call_id.clone(), end));
                break;
            }
        }
    }

    /// Move the call's agent on the floor as the call goes (issue #10):
    /// the agent answering reserves a ready agent for the call, the bridge
    /// connects the customer, the end sends the agent to wrap-up (or back
    /// to ready when the customer was never connected). Only an agent
    /// logged in on the floor moves: the rules refuse the rest
    /// (`NotLoggedIn`, `NotReady`), which is expected here and logged at
    /// debug. The nailed-up session leg will extend this one place.
    async fn follow_floor(&self, call_id: &str, ev: &LiveEvent) {
        use orderline_dialer::agents::{AgentInput, AgentState};
        let Some(floor) = &self.inner.floor else {
            return;
        };
        let agent = {
            let mut agents = self.inner.agents.lock().unwrap_or_else(|p| p.into_inner());
            let agent = agents.get(call_id).cloned();
            if matches!(ev, LiveEvent::Ended(_)) {
                agents.remove(call_id);
            }
            agent
        };
        let Some(agent) = agent else { return };
        let call = call_id.to_string();
        let input = match ev {
            LiveEvent::AgentAnswered => AgentInput::Reserve { call },
            LiveEvent::Bridged => AgentInput::CustomerConnected { call },
            LiveEvent::Ended(_) => match floor.state(&agent).await.0 {
                AgentState::Reserved { call: held } if held == call_id => {
                    AgentInput::Release { call }
                }
                _ => AgentInput::CustomerEnded {
                    call,
                    agent_spoke: true,
                },
            },
            _ => return,
        };
        let now = self.inner.engine.clock().now();
        if let Err(e) = floor.apply(&agent, input, now).await {
            tracing::debug!(agent = %agent, call = %call_id, error = %e, "click-to-call leaves the agent's state alone");
        }
    }

    async fn write(&self, call_id: &str, ev: LiveEvent) {
        let store = &self.inner.store;
        let hub = &self.inner.hub;
        match ev {
            LiveEvent::AgentAnswered => {
                let u = AgentCallUpdate {
                    agent_cause: Some("answered".into()),
                    ..AgentCallUpdate::status(AgentCallStatus::DialingCustomer)
                };
                retry("agent answered", || {
                    store.update_agent_call(call_id, &u, self.inner.engine.clock().now())
                })
                .await;
            }
            LiveEvent::Bridged => {
                let u = AgentCallUpdate {
                    customer_cause: Some("answered".into()),
                    ..AgentCallUpdate::status(AgentCallStatus::Bridged)
                };
                retry("bridged", || {
                    store.update_agent_call(call_id, &u, self.inner.engine.clock().now())
                })
                .await;
            }
            LiveEvent::PaymentStep { payment_id, event } => {
                let step = PaymentStep::from_event(&event, self.inner.engine.clock().now());
                retry("payment step", || {
                    store.add_payment_step(&payment_id, &step)
                })
                .await;
                hub.publish(&payment_id, PaymentUpdate::Step(step));
            }
            LiveEvent::PaymentKeyed { payment_id } => {
                if retry("payment in progress", || {
                    store.mark_payment_in_progress(&payment_id, self.inner.engine.clock().now())
                })
                .await
                    == Some(true)
                {
                    hub.publish(
                        &payment_id,
                        PaymentUpdate::Status(PaymentStatus::InProgress),
                    );
                }
            }
            LiveEvent::PaymentEnded {
                payment_id,
                outcome,
                charge,
            } => {
                let r = payment_result(&outcome, charge.as_ref());
                let from = [PaymentStatus::Pending, PaymentStatus::InProgress];
                let done = retry("payment result", || {
                    store.finish_payment(&payment_id, &r, &from, self.inner.engine.clock().now())
                })
                .await;
                if let Some(Some(p)) = done {
                    tracing::info!(payment = %payment_id, status = p.status.as_str(), "payment recorded");
                    self.inner.metrics.payment_finished(p.status.as_str());
                    hub.publish(&payment_id, PaymentUpdate::Status(p.status));
                }
                hub.publish(&payment_id, PaymentUpdate::Finished);
            }
            LiveEvent::PaymentRefused { payment_id, reason } => {
                let r =
                    PaymentResult::ended(PaymentStatus::Failed, Some(EndReason::Refused(reason)));
                let done = retry("payment refused", || {
                    store.finish_payment(
                        &payment_id,
                        &r,
                        &[PaymentStatus::Pending],
                        self.inner.engine.clock().now(),
                    )
                })
                .await;
                if let Some(Some(p)) = done {
                    self.inner.metrics.payment_finished(p.status.as_str());
                }
                hub.publish(&payment_id, PaymentUpdate::Status(PaymentStatus::Failed));
                hub.publish(&payment_id, PaymentUpdate::Finished);
            }
            LiveEvent::Ended(end) => {
                let u = ended(&end);
                retry("call ended", || {
                    store.update_agent_call(call_id, &u, self.inner.engine.clock().now())
                })
                .await;
            }
        }
    }
}

/// Counts a live agent call in `orderline_agent_calls` until dropped, so a
/// call task that panics still leaves the gauge right.
struct LiveCall(Arc<Metrics>);

impl LiveCall {
    fn new(metrics: Arc<Metrics>) -> LiveCall {
        metrics.agent_call_delta(1);
        LiveCall(metrics)
    }
}

impl Drop for LiveCall {
    fn drop(&mut self) {
        self.0.agent_call_delta(-1);
    }
}

fn ended(end: &CallEnd) -> AgentCallUpdate {
    AgentCallUpdate {
        status: if end.failed {
            AgentCallStatus::Failed
        } else {
            AgentCallStatus::Ended
        },
        agent_cause: Some(end.agent_cause.to_string()),
        customer_cause: end.customer_cause.map(|c| c.to_string()),
        ended_by: Some(end.ended_by),
    }
}

/// Run a store write, retrying transient failures with a short backoff.
/// `None` once every attempt failed (logged).
async fn retry<T, F, Fut>(what: &str, mut op: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut wait = Duration::from_millis(100);
    for attempt in 1..=WRITE_ATTEMPTS {
        match op().await {
            Ok(v) => return Some(v),
            Err(e) if attempt == WRITE_ATTEMPTS => {
                tracing::error!(what, error = %e, "store write failed; giving up");
            }
            Err(e) => {
                tracing::warn!(what, attempt, error = %e, "store write failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
    None
}
