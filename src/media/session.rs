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

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::g711::Law;
use super::jitter::MAX_PAYLOAD;
use super::player::{PlayItem, PlayerError};
use super::ports::{PortAllocator, PortLease};
use super::task::Task;
use crate::dtmf::DigitEvent;

/// Depth of the command channel (handle → task).
const COMMANDS: usize = 16;
/// Depth of the event channel (task → handle). Events that do not fit are
/// counted in [`MediaStats::events_dropped`]; the media loop never blocks.
const EVENTS: usize = 64;
/// How many ports to try when some in the range are taken by others.
const BIND_ATTEMPTS: usize = 32;

/// What the media layer needs from SDP offer/answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaParams {
    /// Address and port from the peer's SDP `c=`/`m=` lines.
    pub remote: SocketAddr,
    /// PCMU or PCMA.
    pub law: Law,
    /// Negotiated telephone-event payload type (RFC 4733), if any.
    pub dtmf_pt: Option<u8>,
    /// Packetisation time in ms (SDP `a=ptime`): 10, 20, … 60.
    pub ptime_ms: u32,
}

impl MediaParams {
    /// Samples per frame at 8 kHz.
    pub(super) fn samples(&self) -> usize {
        self.ptime_ms as usize * 8
    }

    pub(super) fn validate(&self) -> Result<(), MediaError> {
        let ok = self.ptime_ms >= 10 && self.ptime_ms % 10 == 0 && self.samples() <= MAX_PAYLOAD;
        if !ok {
            return Err(MediaError::BadPtime(self.ptime_ms));
        }
        if let Some(pt) = self.dtmf_pt {
            if !(96..=127).contains(&pt) {
                return Err(MediaError::BadDtmfPayloadType(pt));
            }
        }
        Ok(())
    }
}

/// What a session reports to the call layer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// A key press (in-band or RFC 4733, de-duplicated). Times are on the
    /// received stream's extended RTP timestamp clock.
    Digit(DigitEvent),
    /// The playback queue ran empty (not sent after `stop_playback`).
    PlaybackDone,
    /// Symmetric RTP moved our send address here (RFC 4961).
    RemoteLatched(SocketAddr),
}

/// Counters returned by [`MediaHandle::stop`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaStats {
    pub packets_sent: u64,
    /// RTP payload octets sent.
    pub bytes_sent: u64,
    /// Valid RTP packets received from the peer (audio and events).
    pub packets_received: u64,
    /// RTP payload octets received.
    pub bytes_received: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub late: u64,
    /// Datagrams that were not valid RTP.
    pub invalid: u64,
    /// RTP not from the peer (another address and stream), or from an
    /// address still being learned (see [`super::rtp::Latch`]); ignored.
    pub foreign: u64,
    /// RTCP datagrams (either port), ignored.
    pub rtcp: u64,
    /// Frames not sent because the task was stalled (timestamp gap).
    pub frames_skipped: u64,
    /// Events lost because the handle did not read them.
    pub events_dropped: u64,
    /// In-band digits dropped in favour of RFC 4733 ones.
    pub inband_duplicates: u64,
}

/// Errors of the media layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    #[error("no free RTP port pair in the configured range")]
    NoPorts,
    #[error("cannot bind RTP/RTCP socket on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("ptime {0} ms not supported (10..=60 in steps of 10)")]
    BadPtime(u32),
    #[error("telephone-event payload type {0} is not dynamic (96..=127)")]
    BadDtmfPayloadType(u8),
    #[error(transparent)]
    Player(#[from] PlayerError),
    #[error("cannot write recording {path}: {source}")]
    Record {
        path: PathBuf,
        source: crate::audio::AudioError,
    },
    #[error("the media task has ended")]
    Closed,
    /// A bridge command for the customer leg before it was connected.
    #[error("the customer leg is not connected")]
    NotConnected,
    /// A second customer leg for one bridge.
    #[error("the customer leg is already connected")]
    AlreadyConnected,
}

/// Sockets bound for one call, before the remote is known.
#[derive(Debug)]
pub struct MediaSession {
    pub(super) rtp: UdpSocket,
    pub(super) rtcp: UdpSocket,
    lease: PortLease,
}

impl MediaSession {
    /// Bind an even RTP port and RTP+1 for RTCP (RFC 3550 §11) on `ip`.
    /// Ports taken by other programs are skipped (they return to the pool).
    pub async fn bind(ip: IpAddr, ports: &Arc<PortAllocator>) -> Result<Self, MediaError> {
        let mut last_err = None;
        for _ in 0..BIND_ATTEMPTS.min(ports.capacity().max(1)) {
            let lease = ports.acquire().ok_or(MediaError::NoPorts)?;
            let a = SocketAddr::new(ip, lease.rtp());
            let rtp = match UdpSocket::bind(a).await {
                Ok(s) => s,
                Err(e) => {
                    last_err = Some(MediaError::Bind { addr: a, source: e });
                    continue;
                }
            };
            let b = SocketAddr::new(ip, lease.rtcp());
            match UdpSocket::bind(b).await {
                Ok(rtcp) => return Ok(Self { rtp, rtcp, lease }),
                Err(e) => last_err = Some(MediaError::Bind { addr: b, source: e }),
            }
        }
        Err(last_err.unwrap_or(MediaError::NoPorts))
    }

    /// The RTP port to put in our SDP `m=audio` line.
    pub fn local_port(&self) -> u16 {
        self.lease.rtp()
    }

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

pub(super) enum Command {
    Play(Vec<PlayItem>, oneshot::Sender<Result<(), MediaError>>),
    StopPlayback(oneshot::Sender<()>),
    Update(MediaParams, oneshot::Sender<Result<(), MediaError>>),
    Record(PathBuf, oneshot::Sender<()>),
    Stop,
}

/// The call layer's handle on a running media session. Dropping it ends
/// the task (without writing a recording).
#[derive(Debug)]
pub struct MediaHandle {
    cmd: mpsc::Sender<Command>,
    events: mpsc::Receiver<MediaEvent>,
    join: JoinHandle<Result<MediaStats, MediaError>>,
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
        let _ = self.cmd.send(Command::Stop).await;
        match self.join.await {
            Ok(r) => r,
            Err(_) => Err(MediaError::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_validation() {
        let p = MediaParams {
            remote: SocketAddr::from(([127, 0, 0, 1], 4000)),
            law: Law::Mu,
            dtmf_pt: Some(101),
            ptime_ms: 20,
        };
        assert!(p.validate().is_ok());
        assert!(MediaParams { ptime_ms: 25, ..p }.validate().is_err());
        assert!(MediaParams { ptime_ms: 70, ..p }.validate().is_err());
        assert!(MediaParams {
            dtmf_pt: Some(8),
            ..p
        }
        .validate()
        .is_err());
    }
}
