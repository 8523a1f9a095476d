//! The tokio driver of an agent's session (issue #10): carries out the
//! sans-IO [`Session`]'s actions (INVITE, CANCEL, BYE, the comfort-noise
//! bridge) and feeds it the agent leg's SIP events, the desk's commands and
//! the ring timer. A customer call runs in its own task
//! ([`agent_call::run_in_session`]) holding the lent agent leg and bridge,
//! and gives them back when it ends; meanwhile this task still takes a
//! logout (and hangs the customer up first).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use super::{Session, SessionAction, SessionInput};
use crate::call::agent_call::{self, Lent, Returned};
use crate::call::b2bua::LegEvent;
use crate::call::engine::{CallError, Engine};
use crate::call::leg_io::LegIo;
use crate::call::line::AnsweredLine;
use crate::call::live::{
    AgentCallSpec, CallCommand, CallEnd, EndedBy, LegCause, LiveEvent, SessionEvent,
};
use crate::call::media_params;
use crate::media::{Bridge, IdleSound, Side};
use crate::sip::SipCommand;

/// A wake-up far enough away to mean "no timer".
const IDLE: Duration = Duration::from_secs(24 * 3600);

/// Whom to call, and what they hear between customers.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub agent_id: String,
    /// The registered contact (or the static `sip_uri`), dialled directly.
    pub agent_uri: String,
    /// The agent's `srtp`: SDES on the session's leg (issue #14).
    pub agent_srtp: crate::config::SrtpMode,
    pub idle: IdleSound,
}

/// A customer call to connect into the session.
#[derive(Debug)]
pub struct CustomerCall {
    pub spec: AgentCallSpec,
    pub commands: mpsc::Receiver<CallCommand>,
    /// A sender on the same channel: the session hangs the call up on logout.
    pub hang_up: mpsc::Sender<CallCommand>,
    pub out: mpsc::Sender<LiveEvent>,
    /// A predictive line's customer who already answered (issue #12):
    /// connected at once, nobody is dialled.
    pub adopted: Option<AnsweredLine>,
}

/// The desk's orders to a session.
#[derive(Debug)]
pub enum SessionCommand {
    Connect(Box<CustomerCall>),
    Logout,
}

/// The customer call holding the lent leg.
struct Serving {
    call_id: String,
    hang_up: mpsc::Sender<CallCommand>,
    bridged: Option<oneshot::Receiver<()>>,
    task: JoinHandle<Returned>,
}

/// What the customer call holding the leg did.
enum Progress {
    Bridged(String),
    Done(Box<Result<Returned, tokio::task::JoinError>>),
}

impl Serving {
    async fn next(&mut self) -> Progress {
        tokio::select! {
            r = async { match self.bridged.as_mut() { Some(rx) => rx.await, None => std::future::pending().await } } => {
                self.bridged = None;
                match r {
                    Ok(()) => Progress::Bridged(self.call_id.clone()),
                    // The call ended before it was bridged: its end follows.
                    Err(_) => Progress::Done(Box::new((&mut self.task).await)),
                }
            }
            r = &mut self.task => Progress::Done(Box::new(r)),
        }
    }
}

/// Run one agent's session until it is down. Reports go to `events`, the
/// last is always [`SessionEvent::Down`].
pub async fn run(
    engine: Arc<Engine>,
    spec: SessionSpec,
    mut commands: mpsc::Receiver<SessionCommand>,
    events: mpsc::Sender<SessionEvent>,
) {
    let ring = match engine.config().calling.ring_timeout() {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(agent = %spec.agent_id, error = %e, "session cannot start");
            let _ = events
                .send(SessionEvent::Down {
                    cause: LegCause::Error,
                })
                .await;
            return;
        }
    };
    let mut d = Driver {
        engine: &engine,
        spec: &spec,
        events: &events,
        agent: None,
        bridge: None,
        pending: None,
        serving: None,
    };
    let mut session = Session::new(Instant::now().into_std(), ring);
    let mut commands_open = true;
    loop {
        while let Some(action) = session.poll_action() {
            if let SessionAction::End { cause } = action {
                d.finish(cause).await;
                return;
            }
            if let Err(e) = d.act(action, &mut session).await {
                tracing::warn!(agent = %spec.agent_id, error = %e, "session: local failure");
                session.handle_input(SessionInput::LocalFailure, Instant::now().into_std());
            }
        }
        let wake = session
            .poll_timeout()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + IDLE);
        let input = tokio::select! {
            ev = async { match d.agent.as_mut() { Some(l) => l.recv().await, None => std::future::pending().await } } => {
                let ev = d.agent.as_mut().and_then(|l| l.input(ev));
                match ev {
                    Some(LegEvent::MediaUpdate { sdp }) => {
                        if let Some(b) = &d.bridge {
                            if let Err(e) = agent_call::update(b, Side::Agent, &sdp, engine.media_timeouts()).await {
                                tracing::warn!(agent = %spec.agent_id, error = %e, "session media update failed");
                            }
                        }
                        None
                    }
                    other => other.map(SessionInput::Agent),
                }
            },
            cmd = commands.recv(), if commands_open => match cmd {
                Some(SessionCommand::Connect(call)) => {
                    let call_id = call.spec.call_id.clone();
                    d.pending = Some(*call);
                    Some(SessionInput::Customer { call_id })
                }
                Some(SessionCommand::Logout) => Some(SessionInput::Logout),
                None => {
                    commands_open = false;
                    Some(SessionInput::Logout)
                }
            },
            ev = async { match d.serving.as_mut() { Some(s) => s.next().await, None => std::future::pending().await } } => match ev {
                Progress::Bridged(call_id) => Some(SessionInput::CustomerBridged { call_id }),
                Progress::Done(r) => d.take_back(*r, &mut session),
            },
            _ = sleep_until(wake) => Some(SessionInput::Timeout),
        };
        if let Some(input) = input {
            session.handle_input(input, Instant::now().into_std());
        }
    }
}

/// Everything the driver owns for one session.
struct Driver<'a> {
    engine: &'a Arc<Engine>,
    spec: &'a SessionSpec,
    events: &'a mpsc::Sender<SessionEvent>,
    /// The agent's leg while the session holds it (not lent).
    agent: Option<LegIo>,
    bridge: Option<crate::media::BridgeHandle>,
    /// A customer call waiting for the machine's Serve or Refuse.
    pending: Option<CustomerCall>,
    serving: Option<Serving>,
}

impl Driver<'_> {
    async fn act(&mut self, action: SessionAction, session: &mut Session) -> Result<(), CallError> {
        let sip = self.engine.sip();
        match action {
            SessionAction::Invite => {
                let io = LegIo::invite(
                    self.engine,
                    None,
                    self.spec.agent_uri.clone(),
                    self.spec.agent_srtp,
                )
                .await?;
                tracing::info!(agent = %self.spec.agent_id, leg = %io.call, "session: calling the agent");
                self.agent = Some(io);
            }
            SessionAction::Cancel => {
                if let Some(io) = &self.agent {
                    sip.command(SipCommand::Cancel(io.call)).await?;
                }
            }
            SessionAction::Bye => {
                if let Some(io) = &self.agent {
                    let _ = sip.command(SipCommand::Bye(io.call)).await;
                }
            }
            SessionAction::StartMedia => {
                let io = self.agent.as_mut().ok_or(CallError::MediaGone)?;
                let (media, remote) = io.answered_media()?;
                self.bridge = Some(Bridge::start_session(
                    media,
                    media_params(&remote),
                    self.spec.idle.clone(),
                )?);
                tracing::info!(agent = %self.spec.agent_id, "session up: comfort noise");
                session.handle_input(SessionInput::MediaReady, Instant::now().into_std());
            }
            SessionAction::Serve { call_id } => {
                let call = self.pending.take();
                let lent = match (self.agent.take(), self.bridge.take()) {
                    (Some(agent), Some(bridge)) => Some(Lent { agent, bridge }),
                    _ => None,
                };
                match (call, lent) {
                    (Some(call), Some(lent)) => {
                        tracing::info!(agent = %self.spec.agent_id, call = %call_id, "session: connecting a customer");
                        let (tx, rx) = oneshot::channel();
                        let task = tokio::spawn(agent_call::run_in_session(
                            self.engine.clone(),
                            call.spec,
                            call.commands,
                            call.out,
                            lent,
                            tx,
                            call.adopted,
                        ));
                        self.serving = Some(Serving {
                            call_id,
                            hang_up: call.hang_up,
                            bridged: Some(rx),
                            task,
                        });
                    }
                    // The machine serves only when idle, which means both
                    // are here; if not, the call is refused as busy.
                    (call, _) => {
                        if let Some(call) = call {
                            refuse(self.engine, call).await;
                        }
                        return Err(CallError::MediaGone);
                    }
                }
            }
            SessionAction::Refuse { call_id } => {
                if let Some(call) = self.pending.take() {
                    tracing::info!(agent = %self.spec.agent_id, call = %call_id, "session busy: customer call refused");
                    refuse(self.engine, call).await;
                }
            }
            SessionAction::HangUpCustomer => {
                if let Some(s) = &self.serving {
                    let _ = s.hang_up.try_send(CallCommand::HangUp);
                }
            }
            SessionAction::Report(ev) => {
                let _ = self.events.send(ev).await;
            }
            SessionAction::End { .. } => {}
        }
        Ok(())
    }

    /// The customer call is over: take the leg and bridge back, and tell
    /// the machine (then the agent leg's end, if it ended meanwhile).
    fn take_back(
        &mut self,
        r: Result<Returned, tokio::task::JoinError>,
        session: &mut Session,
    ) -> Option<SessionInput> {
        let s = self.serving.take()?;
        let now = Instant::now().into_std();
        let (agent_spoke, latency, first_rtp, agent_end) = match r {
            Ok(ret) => {
                let span = ret.span.unwrap_or_default();
                let after = |t: Option<std::time::Instant>| match (ret.answered_at, t) {
                    (Some(a), Some(t)) => Some(t.saturating_duration_since(a.into_std())),
                    _ => None,
                };
                let latency = after(span.first_heard_at);
                let first_rtp = after(span.first_rx_at);
                tracing::debug!(call = %s.call_id, stats = ?span.customer, "customer leg released");
                let mut end = ret.agent_end;
                match ret.lent {
                    Some(l) => {
                        self.agent = Some(l.agent);
                        self.bridge = Some(l.bridge);
                    }
                    None if end.is_none() => end = Some(LegEvent::Gone),
                    None => {}
                }
                (span.agent_spoke, latency, first_rtp, end)
            }
            Err(e) => {
                tracing::error!(call = %s.call_id, error = %e, "session call task failed");
                (false, None, None, Some(LegEvent::Gone))
            }
        };
        if let Some(l) = latency {
            tracing::info!(
                agent = %self.spec.agent_id,
                call = %s.call_id,
                connect_us = l.as_micros() as u64,
                first_rtp_us = first_rtp.map(|d| d.as_micros() as u64),
                "customer heard by the agent"
            );
        }
        session.handle_input(
            SessionInput::CustomerDone {
                call_id: s.call_id,
                agent_spoke,
                connect_latency: latency,
                first_rtp_after: first_rtp,
            },
            now,
        );
        agent_end.map(SessionInput::Agent)
    }

    async fn finish(&mut self, cause: LegCause) {
        if let Some(b) = self.bridge.take() {
            let stats = b.stop().await;
            tracing::debug!(agent = %self.spec.agent_id, ?stats, "session bridge stopped");
        }
        if let Some(call) = self.pending.take() {
            refuse(self.engine, call).await;
        }
        tracing::info!(agent = %self.spec.agent_id, %cause, "session down");
    }
}

/// A customer call the session cannot take ends before it starts (an
/// adopted customer is hung up: nobody is there to take them).
async fn refuse(engine: &Engine, call: CustomerCall) {
    if let Some(line) = call.adopted {
        line.hang_up(engine).await;
    }
    let _ = call
        .out
        .send(LiveEvent::Ended(CallEnd {
            failed: true,
            agent_cause: LegCause::Busy,
            customer_cause: None,
            ended_by: EndedBy::Local,
        }))
        .await;
}
