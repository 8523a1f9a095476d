//! One call's media, as one tokio task owning its RTP and RTCP sockets.
//!
//! The task multiplexes four things with `select!`: the pacing deadline
//! (absolute, see [`Pacer`](super::pacer::Pacer)), the RTP socket, the RTCP socket (read and
//! dropped: a robo-call has no use for receiver reports, but unread
//! datagrams would pile up in the kernel buffer), and a bounded command
//! channel from the [`MediaHandle`]. Everything it touches is owned by the
//! task — no lock shared between calls — and the packet paths reuse
//! fixed buffers, so sending or receiving a packet does not allocate.
//!
//! Sending: every `ptime` a frame is taken from the [`PromptPlayer`](super::player::PromptPlayer)
//! (silence when idle, which keeps NAT bindings open and the far end's
//! jitter buffer fed), G.711-encoded and sent to the latched remote
//! (RFC 4961 symmetric RTP).
//!
//! Receiving: RTP audio goes through the reorder buffer, is decoded and
//! fed to the in-band DTMF detector (and to an optional recording);
//! telephone-events (RFC 4733, dynamic PT from SDP) go to the event
//! receiver; digits from both are merged ([`DigitMerger`](super::digits::DigitMerger)).
//!
//! This file is the tokio edge of a single-leg call, as `bridge` is for two
//! legs: the handle, its commands, the loop, and the spawning
//! [`MediaSession::start`] (an inherent impl kept beside the task it starts,
//! so the socket file below knows nothing of the task; issue #9). The
//! per-leg logic is the sans-IO `Leg`.
//!
//! A predictive line (issue #12) also listens for an answering machine:
//! [`MediaHandle::detect_machine`] feeds the received audio, in order, to
//! the sans-IO [`AmdDetector`] and reports its decisions as
//! [`MediaEvent::Amd`]; once the customer is classed, [`MediaHandle::release`]
//! stops the task and gives the sockets back, so the same ports (the ones
//! in the SDP the customer answered) go on into the agent's bridge.

use std::path::PathBuf;
use std::time::Instant;

use orderline_amd::{AmdConfig, AmdDetector};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::error::MediaError;
use super::leg::{Leg, LegSink, MediaEvent, MediaParams, MediaStats};
use super::pacer::Pacer;
use super::player::PlayItem;
use super::rtp::MAX_PACKET;
use super::session::{write_recording, MediaSession};
use super::watch::MediaTimeouts;

/// Depth of the command channel (handle → task).
const COMMANDS: usize = 16;
/// Depth of the event channel (task → handle). Events that do not fit are
/// counted in [`MediaStats::events_dropped`]; the media loop never blocks.
const EVENTS: usize = 64;

impl MediaSession {
    /// Start sending and receiving. Must be called inside a tokio runtime.
    /// Invalid `params` (ptime, telephone-event PT) fall back to 20 ms and
    /// no RFC 4733 with an error log; use [`MediaSession::try_start`] to
    /// get the error instead.
    pub fn start(self, params: MediaParams) -> MediaHandle {
        let params = match params.validate() {
            Ok(()) => params,
            Err(e) => {
                tracing::error!(error = %e, "bad media params; using 20 ms, no telephone-event");
                MediaParams {
                    ptime_ms: 20,
                    dtmf_pt: None,
                    ..params
                }
            }
        };
        self.spawn(params)
    }

    /// [`MediaSession::start`] that refuses bad parameters.
    pub fn try_start(self, params: MediaParams) -> Result<MediaHandle, MediaError> {
        params.validate()?;
        Ok(self.spawn(params))
    }

    fn spawn(self, params: MediaParams) -> MediaHandle {
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMANDS);
        let (evt_tx, evt_rx) = mpsc::channel(EVENTS);
        let task = Task::new(self, params, evt_tx);
        let join = tokio::spawn(task.run(cmd_rx));
        MediaHandle {
            cmd: cmd_tx,
            events: evt_rx,
            join,
        }
    }
}

enum Command {
    Play(Vec<PlayItem>, oneshot::Sender<Result<(), MediaError>>),
    StopPlayback(oneshot::Sender<()>),
    Update(MediaParams, oneshot::Sender<Result<(), MediaError>>),
    Record(PathBuf, oneshot::Sender<()>),
    Watch(MediaTimeouts, bool),
    DetectMachine(Box<AmdDetector>),
    Stop,
}

/// What the task gives back when it ends: the sockets (for
/// [`MediaHandle::release`]) and how it went.
type Finished = (MediaSession, Result<MediaStats, MediaError>);

/// The call layer's handle on a running media session. Dropping it ends
/// the task (without writing a recording).
#[derive(Debug)]
pub struct MediaHandle {
    cmd: mpsc::Sender<Command>,
    events: mpsc::Receiver<MediaEvent>,
    join: JoinHandle<Finished>,
}

impl MediaHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, MediaError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(make(tx))
            .await
            .map_err(|_| MediaError::Closed)?;
        rx.await.map_err(|_| MediaError::Closed)
    }

    /// Queue items after whatever is playing. Returns once queued; a
    /// [`MediaEvent::PlaybackDone`] follows when the queue runs empty.
    pub async fn play(&self, items: Vec<PlayItem>) -> Result<(), MediaError> {
        self.ask(|tx| Command::Play(items, tx)).await?
    }

    /// Barge-in: drop the current prompt and the queue; silence follows.
    pub async fn stop_playback(&self) -> Result<(), MediaError> {
        self.ask(Command::StopPlayback).await
    }

    /// New remote parameters (183 early media → 200 OK answer, re-INVITE).
    /// Resets the symmetric-RTP latch to the new SDP address.
    pub async fn update_remote(&self, params: MediaParams) -> Result<(), MediaError> {
        params.validate()?;
        self.ask(|tx| Command::Update(params, tx)).await?
    }

    /// Record the received audio (decoded, in order, lost packets as
    /// silence) to a WAV written when the session stops.
    pub async fn record(&self, path: PathBuf) -> Result<(), MediaError> {
        self.ask(|tx| Command::Record(path, tx)).await
    }

    /// Arm the media timeout ([`MediaEvent::MediaTimeout`] once the far end
    /// has sent nothing for `timeouts`), or update whether it holds the call.
    pub async fn watch_media(
        &self,
        timeouts: MediaTimeouts,
        on_hold: bool,
    ) -> Result<(), MediaError> {
        self.cmd
            .send(Command::Watch(timeouts, on_hold))
            .await
            .map_err(|_| MediaError::Closed)
    }

    /// Classify the far end as a human or an answering machine from the
    /// audio received from now on ([`MediaEvent::Amd`], at most two: the
    /// class, then a machine's beep). A bad `config` is refused here.
    pub async fn detect_machine(&self, config: AmdConfig) -> Result<(), MediaError> {
        let det = AmdDetector::new(config).map_err(MediaError::Amd)?;
        self.cmd
            .send(Command::DetectMachine(Box::new(det)))
            .await
            .map_err(|_| MediaError::Closed)
    }

    /// Next event; `None` once the task has ended.
    pub async fn next_event(&mut self) -> Option<MediaEvent> {
        self.events.recv().await
    }

    /// Stop the session and return its counters. The ports are released
    /// when this returns. A recording that cannot be written is logged.
    pub async fn stop(self) -> MediaStats {
        match self.stop_checked().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "media session ended with an error");
                MediaStats::default()
            }
        }
    }

    /// [`MediaHandle::stop`] reporting a recording write failure.
    pub async fn stop_checked(self) -> Result<MediaStats, MediaError> {
        self.release().await.and_then(|(_, stats)| stats)
    }

    /// Stop the task and take its sockets back, bound and unchanged, with
    /// its counters: the call goes on with other media on the same ports
    /// (a predictive line handed from the AMD listener to an agent's
    /// bridge). Datagrams that arrive meanwhile wait in the kernel.
    pub async fn release(
        self,
    ) -> Result<(MediaSession, Result<MediaStats, MediaError>), MediaError> {
        let _ = self.cmd.send(Command::Stop).await;
        self.join.await.map_err(|_| MediaError::Closed)
    }
}

/// The task's sink: events to the handle, and the received audio to the
/// answering-machine detector while it listens (its decisions become
/// events). Borrowed per datagram; nothing here allocates.
struct Sink<'a> {
    events: &'a mpsc::Sender<MediaEvent>,
    amd: &'a mut Option<AmdDetector>,
    dropped: u64,
}

impl LegSink for Sink<'_> {
    fn event(&mut self, ev: MediaEvent) -> bool {
        self.events.try_send(ev).is_ok()
    }

    fn audio(&mut self, pcm: &[i16]) {
        let Some(det) = self.amd.as_mut() else {
            return;
        };
        det.push(pcm);
        while let Some(d) = det.poll_decision() {
            if self.events.try_send(MediaEvent::Amd(d)).is_err() {
                self.dropped += 1;
            }
        }
        if det.is_done() {
            *self.amd = None;
        }
    }
}

/// Events go to the handle; a full channel drops (counted by the leg).
impl LegSink for mpsc::Sender<MediaEvent> {
    fn event(&mut self, ev: MediaEvent) -> bool {
        self.try_send(ev).is_ok()
    }
}

/// Everything one call's task owns.
struct Task {
    /// The sockets: the task reads them and sends what the leg builds.
    session: MediaSession,
    leg: Leg,
    events: mpsc::Sender<MediaEvent>,
    /// Listening for an answering machine (predictive lines only).
    amd: Option<AmdDetector>,
}

impl Task {
    fn new(session: MediaSession, params: MediaParams, events: mpsc::Sender<MediaEvent>) -> Self {
        // The SSRC, sequence and timestamp origins are drawn here, at
        // the edge: the leg itself takes its randomness injected.
        let mut leg = Leg::new(params, &mut StdRng::from_entropy());
        if let Some(key) = session.srtp {
            leg.secure(key);
        }
        Self {
            session,
            leg,
            events,
            amd: None,
        }
    }

    async fn run(mut self, commands: mpsc::Receiver<Command>) -> Finished {
        let write_wav = self.serve(commands).await;
        let Task {
            session,
            leg,
            events,
            mut amd,
        } = self;
        // A call that ends while the detector still listens: it decides
        // with what it heard (the caller may be waiting on the decision).
        if let Some(det) = amd.as_mut() {
            det.finish();
            while let Some(d) = det.poll_decision() {
                let _ = events.try_send(MediaEvent::Amd(d));
            }
        }
        let (stats, recording) = leg.finish();
        let result = match (write_wav, recording) {
            (true, Some((path, samples))) => write_recording(path, &samples).map(|()| stats),
            _ => Ok(stats),
        };
        (session, result)
    }

    /// The loop, until stopped (`true`: by [`Command::Stop`], so a
    /// recording is written) or dropped (`false`).
    async fn serve(&mut self, mut commands: mpsc::Receiver<Command>) -> bool {
        let mut pacer = Pacer::new(Instant::now(), self.leg.period());
        let sleep = tokio::time::sleep_until(pacer.deadline().into());
        tokio::pin!(sleep);
        let mut rbuf = [0u8; MAX_PACKET];
        let mut cbuf = [0u8; MAX_PACKET];
        let mut write_wav = false;
        loop {
            tokio::select! {
                biased;
                () = &mut sleep => {
                    let tick = pacer.on_wake(Instant::now());
                    self.leg.skip(tick.skipped);
                    for _ in 0..tick.send {
                        if let Some((packet, to)) = self.leg.next_frame(|pcm| pcm.fill(0), &mut self.events) {
                            self.session.send(packet, to).await;
                        }
                    }
                    self.leg.on_quiet(Instant::now(), &mut self.events);
                    sleep.as_mut().reset(pacer.deadline().into());
                }
                // Commands before sockets: a flood on the RTP port must not
                // starve stop() or barge-in (the timer comes first anyway).
                cmd = commands.recv() => match cmd {
                    Some(Command::Stop) => { write_wav = true; break; }
                    None => break,
                    Some(Command::Play(items, reply)) => {
                        let _ = reply.send(self.leg.play(items));
                    }
                    Some(Command::StopPlayback(reply)) => {
                        self.leg.stop_playback();
                        let _ = reply.send(());
                    }
                    Some(Command::Update(params, reply)) => {
                        if self.leg.update(params) {
                            pacer = Pacer::new(pacer.deadline(), self.leg.period());
                            sleep.as_mut().reset(pacer.deadline().into());
                        }
                        let _ = reply.send(Ok(()));
                    }
                    Some(Command::Record(path, reply)) => {
                        self.leg.record(path);
                        let _ = reply.send(());
                    }
                    Some(Command::Watch(timeouts, on_hold)) => {
                        self.leg.watch(timeouts, on_hold, Instant::now());
                    }
                    Some(Command::DetectMachine(det)) => self.amd = Some(*det),
                },
                r = self.session.rtp.recv_from(&mut rbuf) => match r {
                    Ok((n, src)) => {
                        let mut sink = Sink { events: &self.events, amd: &mut self.amd, dropped: 0 };
                        self.leg.on_datagram(src, &rbuf[..n], Instant::now(), &mut sink);
                        self.leg.count_dropped(sink.dropped);
                    }
                    Err(e) => tracing::debug!(error = %e, "RTP receive error"),
                },
                r = self.session.rtcp.recv_from(&mut cbuf) => {
                    if let Ok((n, _)) = r {
                        self.leg.on_rtcp(&mut cbuf[..n], Instant::now());
                    }
                }
            }
        }
        write_wav
    }
}
