//! Two call legs joined in one task: the agent's phone and the customer
//! (B2BUA media, issue #5).
//!
//! - **Talk**: each side hears the other, transcoded when the legs' laws
//!   differ (PCMU ↔ PCMA, decode to linear then encode). Customer → agent
//!   audio always goes through the DTMF [`Squelch`](crate::dtmf::Squelch)
//!   (40 ms look-ahead), and RFC 4733 telephone-events are never forwarded:
//!   the agent never hears a keypress, in or out of a payment (PCI DSS).
//! - **Secure** (a payment session): the agent hears only a hold tone; the
//!   customer hears only what is played to the customer leg (the prompts);
//!   no customer audio reaches the agent at all.
//!
//! Before the customer leg is connected the agent hears ringback. A
//! nailed-up session's bridge ([`Bridge::start_session`], issue #10) keeps
//! the agent's leg for many customers: the agent hears comfort noise (or
//! music) until one is connected, and again after
//! [`BridgeHandle::disconnect`]. The agent's leg is the same sans-IO `Leg`
//! throughout, so its RTP stream stays continuous: one SSRC, sequence numbers
//! and timestamps running on (RFC 3550 §5.1), with no re-INVITE.
//! Digits and playback events of both legs come out of [`BridgeHandle::next_event`].
//!
//! Shape: one tokio task owns both legs' sockets (read round-robin) and a
//! sans-IO `Leg` for each, as the single-leg task uses, and the routing core
//! (`Patch`: squelch, two 200 ms rings, ringback and hold tones), so the
//! two directions share no lock and never wait on each other. Each leg is
//! paced by its own absolute-deadline [`Pacer`] at its own ptime (the task sleeps until the
//! earlier deadline), so legs with different ptimes each get whole frames
//! of their own size; the rings absorb the difference. A prompt queued on
//! a leg replaces whatever that leg would otherwise hear, in either mode.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::ReadBuf;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::comfort::IdleSound;
use super::error::MediaError;
use super::leg::{Leg, LegSink, MediaEvent, MediaParams, MediaStats};
use super::pacer::Pacer;
use super::patch::Patch;
use super::patch::{BridgeMode, Side};
use super::player::PlayItem;
use super::rtp::MAX_PACKET;
use super::session::{write_recording, MediaSession};
use super::watch::MediaTimeouts;

/// Depth of the command channel (handle → task).
const COMMANDS: usize = 16;
/// Depth of the event channel (task → handle); overflow is counted per leg
/// in [`MediaStats::events_dropped`].
const EVENTS: usize = 64;

/// An event from one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeEvent {
    pub side: Side,
    pub event: MediaEvent,
}

/// Counters of both legs, returned by [`BridgeHandle::stop`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeStats {
    pub agent: MediaStats,
    pub customer: MediaStats,
    /// Customer samples the squelch replaced with silence before the agent heard them.
    pub squelched_samples: u64,
}

/// What a customer leg of a session's bridge left behind at
/// [`BridgeHandle::disconnect`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CustomerSpan {
    pub customer: MediaStats,
    /// When the first agent-leg packet carrying the customer's sound was
    /// sent (handed to the socket): the end of the connect latency.
    pub first_heard_at: Option<Instant>,
    /// When the customer's first datagram arrived after connect (its far
    /// end's share of the connect latency ends here).
    pub first_rx_at: Option<Instant>,
    /// The agent sent speech-level audio while connected (an energy test).
    pub agent_spoke: bool,
}

/// Starts a bridge task.
pub struct Bridge;

impl Bridge {
    /// Start with the agent leg only (ringback to the agent until
    /// [`BridgeHandle::connect`]). Must be called inside a tokio runtime.
    pub fn start(agent: MediaSession, params: MediaParams) -> Result<BridgeHandle, MediaError> {
        params.validate()?;
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMANDS);
        let (evt_tx, evt_rx) = mpsc::channel(EVENTS);
        let task = BridgeTask::new(agent, params, evt_tx, Patch::new());
        let join = tokio::spawn(task.run(cmd_rx));
        Ok(BridgeHandle {
            cmd: cmd_tx,
            events: evt_rx,
            join,
        })
    }

    /// Start a session's bridge: the agent hears `idle` (not ringback)
    /// while no customer is connected. Customers come and go with
    /// [`BridgeHandle::connect`] and [`BridgeHandle::disconnect`].
    pub fn start_session(
        agent: MediaSession,
        params: MediaParams,
        idle: IdleSound,
    ) -> Result<BridgeHandle, MediaError> {
        params.validate()?;
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMANDS);
        let (evt_tx, evt_rx) = mpsc::channel(EVENTS);
        let task = BridgeTask::new(agent, params, evt_tx, Patch::with_idle(idle));
        let join = tokio::spawn(task.run(cmd_rx));
        Ok(BridgeHandle {
            cmd: cmd_tx,
            events: evt_rx,
            join,
        })
    }
}

enum Command {
    Connect(
        MediaSession,
        MediaParams,
        oneshot::Sender<Result<(), MediaError>>,
    ),
    Mode(BridgeMode, oneshot::Sender<Result<(), MediaError>>),
    Play(Side, Vec<PlayItem>, oneshot::Sender<Result<(), MediaError>>),
    StopPlayback(Side, oneshot::Sender<Result<(), MediaError>>),
    Update(Side, MediaParams, oneshot::Sender<Result<(), MediaError>>),
    Record(Side, PathBuf, oneshot::Sender<Result<(), MediaError>>),
    Watch(
        Side,
        MediaTimeouts,
        bool,
        oneshot::Sender<Result<(), MediaError>>,
    ),
    Disconnect(oneshot::Sender<Result<CustomerSpan, MediaError>>),
    Stop,
}

/// The call layer's handle on a running bridge. Dropping it ends the task
/// (and releases both legs' ports) without writing recordings.
#[derive(Debug)]
pub struct BridgeHandle {
    cmd: mpsc::Sender<Command>,
    events: mpsc::Receiver<BridgeEvent>,
    join: JoinHandle<BridgeStats>,
}

impl BridgeHandle {
    async fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), MediaError>>) -> Command,
    ) -> Result<(), MediaError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(make(tx))
            .await
            .map_err(|_| MediaError::Closed)?;
        rx.await.map_err(|_| MediaError::Closed)?
    }

    /// Arm one side's media timeout (a [`BridgeEvent`] with
    /// [`MediaEvent::MediaTimeout`] once that far end has sent nothing for
    /// `timeouts`), or update whether it holds the call.
    pub async fn watch_media(
        &self,
        side: Side,
        timeouts: MediaTimeouts,
        on_hold: bool,
    ) -> Result<(), MediaError> {
        self.ask(|tx| Command::Watch(side, timeouts, on_hold, tx))
            .await
    }

    /// Attach the answered customer leg; the mode becomes [`BridgeMode::Talk`].
    pub async fn connect(
        &self,
        customer: MediaSession,
        params: MediaParams,
    ) -> Result<(), MediaError> {
        params.validate()?;
        self.ask(|tx| Command::Connect(customer, params, tx)).await
    }

    /// Switch what each party hears; takes effect on the next frame.
    pub async fn set_mode(&self, mode: BridgeMode) -> Result<(), MediaError> {
        self.ask(|tx| Command::Mode(mode, tx)).await
    }

    /// Queue prompts on one leg (as [`super::MediaHandle::play`]); a
    /// `PlaybackDone` for that side follows when its queue runs empty.
    pub async fn play(&self, side: Side, items: Vec<PlayItem>) -> Result<(), MediaError> {
        self.ask(|tx| Command::Play(side, items, tx)).await
    }

    /// Barge-in on one leg.
    pub async fn stop_playback(&self, side: Side) -> Result<(), MediaError> {
        self.ask(|tx| Command::StopPlayback(side, tx)).await
    }

    /// New remote parameters for one leg (re-INVITE).
    pub async fn update_remote(&self, side: Side, params: MediaParams) -> Result<(), MediaError> {
        params.validate()?;
        self.ask(|tx| Command::Update(side, params, tx)).await
    }

    /// Record what this side *sent us* (decoded) to a WAV written at stop.
    /// For the customer side before connect, recording starts at connect.
    /// While the bridge is in [`BridgeMode::Secure`] the customer's
    /// recording holds silence: card digits never reach a recording.
    pub async fn record(&self, side: Side, path: PathBuf) -> Result<(), MediaError> {
        self.ask(|tx| Command::Record(side, path, tx)).await
    }

    /// Release the customer leg (its ports are free when this returns; a
    /// recording asked for is written); the agent goes back to the idle
    /// sound, the mode to [`BridgeMode::Talk`]. Events of the customer
    /// still queued are dropped so the next customer starts clean.
    pub async fn disconnect(&mut self) -> Result<CustomerSpan, MediaError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::Disconnect(tx))
            .await
            .map_err(|_| MediaError::Closed)?;
        let span = rx.await.map_err(|_| MediaError::Closed)??;
        while let Ok(ev) = self.events.try_recv() {
            if ev.side == Side::Agent {
                tracing::debug!(?ev, "agent media event dropped at disconnect");
            }
        }
        Ok(span)
    }

    /// Next event from either leg; `None` once the task has ended.
    pub async fn next_event(&mut self) -> Option<BridgeEvent> {
        self.events.recv().await
    }

    /// Stop both legs and release their ports (released when this
    /// returns). Recordings that cannot be written are logged.
    pub async fn stop(self) -> BridgeStats {
        let _ = self.cmd.send(Command::Stop).await;
        self.join.await.unwrap_or_default()
    }
}

/// A leg's events, tagged with its side.
struct Events<'a> {
    side: Side,
    tx: &'a mpsc::Sender<BridgeEvent>,
}

impl LegSink for Events<'_> {
    fn event(&mut self, event: MediaEvent) -> bool {
        let side = self.side;
        self.tx.try_send(BridgeEvent { side, event }).is_ok()
    }
}

/// A leg's events, and its received audio into the patch.
struct Tap<'a> {
    events: Events<'a>,
    patch: &'a mut Patch,
}

impl LegSink for Tap<'_> {
    fn event(&mut self, ev: MediaEvent) -> bool {
        self.events.event(ev)
    }

    fn audio(&mut self, pcm: &[i16]) {
        match self.events.side {
            Side::Agent => self.patch.on_agent_audio(pcm),
            Side::Customer => self.patch.on_customer_audio(pcm),
        }
    }
}

/// A connected leg: its sockets, its sans-IO state and its frame clock.
struct Paced {
    session: MediaSession,
    leg: Leg,
    pacer: Pacer,
}

impl Paced {
    /// `params` must have been validated. The RTP origins are drawn from
    /// OS entropy here, at the edge (the leg takes its randomness injected).
    fn new(session: MediaSession, params: MediaParams, start: Instant) -> Self {
        let mut leg = Leg::new(params, &mut StdRng::from_entropy());
        if let Some(key) = session.srtp {
            leg.secure(key);
        }
        let pacer = Pacer::new(start, leg.period());
        Self {
            session,
            leg,
            pacer,
        }
    }

    fn update(&mut self, params: MediaParams) {
        if self.leg.update(params) {
            self.pacer = Pacer::new(self.pacer.deadline(), self.leg.period());
        }
    }

    /// Send the frames due at `now` with what the patch has for `side`.
    /// Returns when the first agent packet carrying a just-connected
    /// customer's sound went out, if it was in this tick.
    async fn tick(
        &mut self,
        side: Side,
        now: Instant,
        patch: &mut Patch,
        tx: &mpsc::Sender<BridgeEvent>,
    ) -> Option<Instant> {
        let mut first_heard = None;
        let mut ev = Events { side, tx };
        let tick = self.pacer.on_wake(now);
        self.leg.skip(tick.skipped);
        patch.skipped(side, tick.skipped as usize * self.leg.samples());
        for _ in 0..tick.send {
            if let Some((packet, to)) = self.leg.next_frame(|pcm| patch.frame(side, pcm), &mut ev) {
                self.session.send(packet, to).await;
                if side == Side::Agent && patch.take_first_heard() {
                    first_heard = Some(Instant::now());
                }
            }
        }
        self.leg.on_quiet(now, &mut ev);
        first_heard
    }
}

/// A datagram from one of the four sockets.
struct Input {
    side: Side,
    rtcp: bool,
    got: io::Result<(usize, SocketAddr)>,
}

/// Poll the legs' RTP and RTCP sockets for one datagram, starting at the
/// `turn`-th socket (round-robin): a flood on one port cannot starve the
/// others, as a fixed order in a biased `select!` would.
fn poll_input(
    cx: &mut Context<'_>,
    legs: [Option<&MediaSession>; 2],
    buf: &mut [u8],
    turn: usize,
) -> Poll<Input> {
    for k in 0..4 {
        let i = (turn + k) % 4;
        let (side, rtcp) = ([Side::Agent, Side::Customer][i % 2], i >= 2);
        let Some(leg) = legs[i % 2] else { continue };
        let sock = if rtcp { &leg.rtcp } else { &leg.rtp };
        let mut rb = ReadBuf::new(buf);
        if let Poll::Ready(r) = sock.poll_recv_from(cx, &mut rb) {
            let got = r.map(|src| (rb.filled().len(), src));
            return Poll::Ready(Input { side, rtcp, got });
        }
    }
    Poll::Pending
}

/// Everything one bridge's task owns.
struct BridgeTask {
    agent: Paced,
    customer: Option<Paced>,
    /// Customer recording asked for before connect.
    customer_record: Option<PathBuf>,
    patch: Patch,
    events: mpsc::Sender<BridgeEvent>,
    /// See [`CustomerSpan::first_heard_at`]; reset at each connect.
    first_heard_at: Option<Instant>,
    /// See [`CustomerSpan::first_rx_at`]; reset at each connect.
    first_rx_at: Option<Instant>,
}

impl BridgeTask {
    fn new(
        agent: MediaSession,
        params: MediaParams,
        events: mpsc::Sender<BridgeEvent>,
        patch: Patch,
    ) -> Self {
        Self {
            agent: Paced::new(agent, params, Instant::now()),
            customer: None,
            customer_record: None,
            patch,
            events,
            first_heard_at: None,
            first_rx_at: None,
        }
    }

    fn deadline(&self) -> Instant {
        let a = self.agent.pacer.deadline();
        self.customer
            .as_ref()
            .map_or(a, |c| a.min(c.pacer.deadline()))
    }

    fn paced(&mut self, side: Side) -> Result<&mut Paced, MediaError> {
        match side {
            Side::Agent => Ok(&mut self.agent),
            Side::Customer => self.customer.as_mut().ok_or(MediaError::NotConnected),
        }
    }

    async fn run(mut self, mut commands: mpsc::Receiver<Command>) -> BridgeStats {
        let mut armed = self.deadline();
        let sleep = tokio::time::sleep_until(armed.into());
        tokio::pin!(sleep);
        let mut buf = [0u8; MAX_PACKET];
        let mut turn = 0usize;
        let mut write_recordings = false;
        loop {
            let due = self.deadline();
            if due != armed {
                armed = due;
                sleep.as_mut().reset(armed.into());
            }
            let legs = [
                Some(&self.agent.session),
                self.customer.as_ref().map(|c| &c.session),
            ];
            tokio::select! {
                biased;
                () = &mut sleep => self.on_wake(Instant::now()).await,
                // Commands before sockets: a flood on a media port must not
                // starve stop(), set_mode() or barge-in.
                cmd = commands.recv() => match cmd {
                    Some(Command::Stop) => { write_recordings = true; break; }
                    None => break,
                    Some(cmd) => self.on_command(cmd),
                },
                input = poll_fn(|cx| poll_input(cx, legs, &mut buf, turn)) => {
                    turn = turn.wrapping_add(1);
                    match input.got {
                        Ok((n, _)) if input.rtcp => {
                            if let Ok(p) = self.paced(input.side) {
                                p.leg.on_rtcp(&mut buf[..n], Instant::now());
                            }
                        }
                        Ok((n, src)) => self.on_datagram(input.side, src, &buf[..n]),
                        Err(e) => tracing::debug!(error = %e, side = ?input.side, "media receive error"),
                    }
                }
            }
        }
        self.finish(write_recordings)
    }

    fn on_datagram(&mut self, side: Side, src: SocketAddr, data: &[u8]) {
        let now = Instant::now();
        let mut tap = Tap {
            events: Events {
                side,
                tx: &self.events,
            },
            patch: &mut self.patch,
        };
        let leg = match side {
            Side::Agent => &mut self.agent.leg,
            Side::Customer => match self.customer.as_mut() {
                Some(c) => {
                    self.first_rx_at.get_or_insert(now);
                    &mut c.leg
                }
                None => return,
            },
        };
        leg.on_datagram(src, data, now, &mut tap);
    }

    /// Send every frame that is due, on each leg at its own ptime.
    async fn on_wake(&mut self, now: Instant) {
        let patch = &mut self.patch;
        let tx = &self.events;
        if let Some(t) = self.agent.tick(Side::Agent, now, patch, tx).await {
            self.first_heard_at = Some(t);
        }
        if let Some(c) = self.customer.as_mut() {
            c.tick(Side::Customer, now, patch, tx).await;
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Connect(session, params, reply) => {
                let r = if self.customer.is_some() {
                    drop(session); // its ports are free before the caller hears back
                    Err(MediaError::AlreadyConnected)
                } else {
                    let mut customer = Paced::new(session, params, Instant::now());
                    if let Some(path) = self.customer_record.take() {
                        customer.leg.record(path);
                    }
                    self.customer = Some(customer);
                    self.patch.connect();
                    self.first_heard_at = None;
                    self.first_rx_at = None;
                    Ok(())
                };
                let _ = reply.send(r);
            }
            Command::Mode(mode, reply) => {
                self.patch.set_mode(mode);
                if let Some(c) = self.customer.as_mut() {
                    c.leg.mute_recording(mode == BridgeMode::Secure);
                }
                tracing::debug!(?mode, "bridge mode");
                let _ = reply.send(Ok(()));
            }
            Command::Play(side, items, reply) => {
                let r = self.paced(side).and_then(|p| p.leg.play(items));
                let _ = reply.send(r);
            }
            Command::StopPlayback(side, reply) => {
                let r = self.paced(side).map(|p| p.leg.stop_playback());
                let _ = reply.send(r);
            }
            Command::Update(side, params, reply) => {
                let r = self.paced(side).map(|p| p.update(params));
                let _ = reply.send(r);
            }
            Command::Record(side, path, reply) => {
                match (side, self.customer.as_mut()) {
                    (Side::Agent, _) => self.agent.leg.record(path),
                    (Side::Customer, Some(c)) => c.leg.record(path),
                    (Side::Customer, None) => self.customer_record = Some(path),
                }
                let _ = reply.send(Ok(()));
            }
            Command::Watch(side, timeouts, on_hold, reply) => {
                let now = Instant::now();
                let r = self
                    .paced(side)
                    .map(|p| p.leg.watch(timeouts, on_hold, now));
                let _ = reply.send(r);
            }
            Command::Disconnect(reply) => {
                let r = match self.customer.take() {
                    None => Err(MediaError::NotConnected),
                    Some(paced) => {
                        let span = CustomerSpan {
                            customer: finish_leg(paced, true),
                            first_heard_at: self.first_heard_at.take(),
                            first_rx_at: self.first_rx_at.take(),
                            agent_spoke: self.patch.agent_spoke(),
                        };
                        self.patch.disconnect();
                        Ok(span)
                    }
                };
                let _ = reply.send(r);
            }
            Command::Stop => {}
        }
    }

    fn finish(self, write_recordings: bool) -> BridgeStats {
        // The sockets (and their port leases) are released as each
        // `Paced` is dropped here.
        let end = |paced: Paced| finish_leg(paced, write_recordings);
        BridgeStats {
            squelched_samples: self.patch.squelched_samples(),
            agent: end(self.agent),
            customer: self.customer.map(end).unwrap_or_default(),
        }
    }
}

/// End one leg: its counters, and its recording written if asked for.
/// Its sockets (and port lease) are released as `paced` drops here.
fn finish_leg(paced: Paced, write_recording_file: bool) -> MediaStats {
    let (stats, recording) = paced.leg.finish();
    if let (true, Some((path, samples))) = (write_recording_file, recording) {
        if let Err(e) = write_recording(path, &samples) {
            tracing::warn!(error = %e, "bridge leg ended with an error");
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use super::*;
    use crate::config::PortRange;
    use crate::media::PortAllocator;

    /// With every socket ready, consecutive turns serve them in rotation:
    /// whichever socket is flooded, the others are read every fourth turn.
    #[tokio::test]
    async fn sockets_are_read_round_robin() {
        let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let pool = Arc::new(PortAllocator::new(PortRange {
            first: 31_140,
            last: 31_149,
        }));
        let peer = tokio::net::UdpSocket::bind((local, 0)).await.unwrap();
        let mut sessions = Vec::new();
        for _ in 0..2 {
            let s = MediaSession::bind(local, &pool).await.unwrap();
            for port in [s.local_port(), s.local_port() + 1] {
                for _ in 0..3 {
                    peer.send_to(b"x", (local, port)).await.unwrap();
                }
            }
            sessions.push(s);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let mut buf = [0u8; 64];
        let mut order = Vec::new();
        for turn in 0..12 {
            let legs = [Some(&sessions[0]), Some(&sessions[1])];
            let input = poll_fn(|cx| poll_input(cx, legs, &mut buf, turn)).await;
            assert!(input.got.is_ok());
            order.push((input.side, input.rtcp));
        }
        let round = [
            (Side::Agent, false),
            (Side::Customer, false),
            (Side::Agent, true),
            (Side::Customer, true),
        ];
        assert_eq!(order, round.repeat(3));
    }
}
