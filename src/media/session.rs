//! One call's media, as one tokio task owning its RTP and RTCP sockets.
//!
//! The task multiplexes four things with `select!`: the pacing deadline
//! (absolute, see [`Pacer`]), the RTP socket, the RTCP socket (read and
//! dropped: a robo-call has no use for receiver reports, but unread
//! datagrams would pile up in the kernel buffer), and a bounded command
//! channel from the [`MediaHandle`]. Everything it touches is owned by the
//! task — no lock shared between calls — and the packet paths reuse
//! fixed buffers, so sending or receiving a packet does not allocate.
//!
//! Sending: every `ptime` a frame is taken from the [`PromptPlayer`]
//! (silence when idle, which keeps NAT bindings open and the far end's
//! jitter buffer fed), G.711-encoded and sent to the latched remote
//! (RFC 4961 symmetric RTP).
//!
//! Receiving: RTP audio goes through the reorder buffer, is decoded and
//! fed to the in-band DTMF detector (and to an optional recording);
//! telephone-events (RFC 4733, dynamic PT from SDP) go to the event
//! receiver; digits from both are merged ([`DigitMerger`]).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::digits::DigitMerger;
use super::dtmf_hook::DtmfHook;
use super::g711::Law;
use super::jitter::{JitterBuffer, MAX_PAYLOAD};
use super::pacer::Pacer;
use super::player::{PlayItem, PlayerError, PromptPlayer};
use super::ports::{PortAllocator, PortLease};
use super::rtp::{self, Datagram, Latch, LatchVerdict, RtpSender, MAX_PACKET};
use crate::dtmf::DigitEvent;

/// Depth of the command channel (handle → task).
const COMMANDS: usize = 16;
/// Depth of the event channel (task → handle). Events that do not fit are
/// counted in [`MediaStats::events_dropped`]; the media loop never blocks.
const EVENTS: usize = 64;
/// Reorder depth in packets (60 ms at 20 ms ptime).
const REORDER_DEPTH: u16 = 3;
/// Input silence after which the receive clock is advanced by wall time.
const QUIET: Duration = Duration::from_millis(300);
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
    fn samples(&self) -> usize {
        self.ptime_ms as usize * 8
    }

    fn validate(&self) -> Result<(), MediaError> {
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
    /// RTP from another SSRC and address than the peer's (ignored).
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
}

/// Sockets bound for one call, before the remote is known.
#[derive(Debug)]
pub struct MediaSession {
    rtp: UdpSocket,
    rtcp: UdpSocket,
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

enum Command {
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

/// Extends 32-bit RTP timestamps to 64 bits (RFC 3550 A.1 style).
#[derive(Debug, Default, Clone, Copy)]
struct TsExtender {
    last: Option<(u32, u64)>,
}

impl TsExtender {
    fn extend(&mut self, ts: u32) -> u64 {
        let ext = match self.last {
            None => ts as u64 + (1u64 << 32),
            Some((low, ext)) => ext.wrapping_add_signed(ts.wrapping_sub(low) as i32 as i64),
        };
        if self.last.is_none_or(|(_, e)| ext > e) {
            self.last = Some((ts, ext));
        }
        ext
    }

    fn now(&self) -> u64 {
        self.last.map_or(0, |(_, e)| e)
    }

    /// A 32-bit timestamp near the current one, on the extended clock,
    /// without moving the clock.
    fn rebase(&self, ts: u32) -> u64 {
        let now = self.now();
        now.wrapping_add_signed(ts.wrapping_sub(now as u32) as i32 as i64)
    }
}

/// Everything one call's task owns.
struct Task {
    session: MediaSession,
    params: MediaParams,
    events: mpsc::Sender<MediaEvent>,
    sender: RtpSender,
    latch: Latch,
    player: PromptPlayer,
    jitter: JitterBuffer,
    hook: DtmfHook,
    merger: DigitMerger,
    clock: TsExtender,
    /// Media-clock value of detector sample 0 (wrapping), once audio came.
    inband_offset: Option<u64>,
    inband_fed: u64,
    recording: Option<(PathBuf, Vec<i16>)>,
    /// When the last datagram arrived (to run the RTP clock on when the
    /// peer goes quiet).
    last_rx: Option<Instant>,
    stats: MediaStats,
    pcm: [i16; MAX_PAYLOAD],
    payload: [u8; MAX_PAYLOAD],
    send_buf: [u8; MAX_PACKET],
}

impl Task {
    fn new(session: MediaSession, params: MediaParams, events: mpsc::Sender<MediaEvent>) -> Self {
        let mut rng = StdRng::from_entropy();
        Self {
            session,
            params,
            events,
            sender: RtpSender::new(&mut rng),
            latch: Latch::new(params.remote),
            player: PromptPlayer::new(),
            jitter: JitterBuffer::new(REORDER_DEPTH),
            hook: DtmfHook::new(),
            merger: DigitMerger::new(params.dtmf_pt.is_some()),
            clock: TsExtender::default(),
            inband_offset: None,
            inband_fed: 0,
            recording: None,
            last_rx: None,
            stats: MediaStats::default(),
            pcm: [0; MAX_PAYLOAD],
            payload: [0; MAX_PAYLOAD],
            send_buf: [0; MAX_PACKET],
        }
    }

    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
    ) -> Result<MediaStats, MediaError> {
        let mut pacer = Pacer::new(Instant::now(), self.period());
        let sleep = tokio::time::sleep_until(pacer.deadline().into());
        tokio::pin!(sleep);
        let mut rbuf = [0u8; MAX_PACKET];
        let mut cbuf = [0u8; MAX_PACKET];
        let mut write_recording = false;
        loop {
            tokio::select! {
                biased;
                () = &mut sleep => {
                    let tick = pacer.on_wake(Instant::now());
                    if tick.skipped > 0 {
                        self.stats.frames_skipped += tick.skipped as u64;
                        self.sender.skip(tick.skipped * self.params.samples() as u32);
                    }
                    for _ in 0..tick.send {
                        self.send_frame().await;
                    }
                    self.on_quiet(Instant::now());
                    sleep.as_mut().reset(pacer.deadline().into());
                }
                r = self.session.rtp.recv_from(&mut rbuf) => match r {
                    Ok((n, src)) => {
                        self.last_rx = Some(Instant::now());
                        self.on_datagram(src, &rbuf[..n]);
                    }
                    Err(e) => tracing::debug!(error = %e, "RTP receive error"),
                },
                r = self.session.rtcp.recv_from(&mut cbuf) => {
                    if r.is_ok() {
                        self.stats.rtcp += 1;
                    }
                }
                cmd = commands.recv() => match cmd {
                    Some(Command::Stop) => { write_recording = true; break; }
                    None => break,
                    Some(Command::Play(items, reply)) => {
                        let _ = reply.send(self.player.enqueue(items).map_err(MediaError::from));
                    }
                    Some(Command::StopPlayback(reply)) => {
                        self.player.stop();
                        let _ = reply.send(());
                    }
                    Some(Command::Update(params, reply)) => {
                        let new_period = params.ptime_ms != self.params.ptime_ms;
                        self.update(params);
                        if new_period {
                            pacer = Pacer::new(pacer.deadline(), self.period());
                            sleep.as_mut().reset(pacer.deadline().into());
                        }
                        let _ = reply.send(Ok(()));
                    }
                    Some(Command::Record(path, reply)) => {
                        self.recording = Some((path, Vec::with_capacity(8000 * 60)));
                        let _ = reply.send(());
                    }
                },
            }
        }
        self.finish(write_recording)
    }

    fn period(&self) -> Duration {
        Duration::from_millis(self.params.ptime_ms as u64)
    }

    fn update(&mut self, params: MediaParams) {
        if params.remote != self.params.remote {
            self.latch = Latch::new(params.remote);
        }
        self.merger.set_prefer_4733(params.dtmf_pt.is_some());
        self.params = params;
    }

    fn emit(&mut self, ev: MediaEvent) {
        if self.events.try_send(ev).is_err() {
            self.stats.events_dropped += 1;
        }
    }

    async fn send_frame(&mut self) {
        let spf = self.params.samples();
        let law = self.params.law;
        self.player.fill(&mut self.pcm[..spf]);
        law.encode(&self.pcm[..spf], &mut self.payload[..spf]);
        let n = match self.sender.write_media(
            law.payload_type(),
            &self.payload[..spf],
            spf as u32,
            &mut self.send_buf,
        ) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "cannot build RTP packet");
                return;
            }
        };
        if let Err(e) = self
            .session
            .rtp
            .send_to(&self.send_buf[..n], self.latch.remote())
            .await
        {
            tracing::debug!(error = %e, "RTP send failed");
        }
        if self.player.take_drained() {
            self.emit(MediaEvent::PlaybackDone);
        }
    }

    fn on_datagram(&mut self, src: SocketAddr, data: &[u8]) {
        let pkt = match rtp::parse(data) {
            Ok(Datagram::Rtp(p)) => p,
            Ok(Datagram::Rtcp) => {
                self.stats.rtcp += 1;
                return;
            }
            Err(_) => {
                self.stats.invalid += 1;
                return;
            }
        };
        match self.latch.check(src, pkt.ssrc, pkt.seq) {
            LatchVerdict::Foreign => {
                self.stats.foreign += 1;
                return;
            }
            LatchVerdict::Moved(to) => {
                tracing::debug!(%to, "symmetric RTP: remote latched");
                self.emit(MediaEvent::RemoteLatched(to));
            }
            LatchVerdict::Accept => {}
        }
        self.stats.packets_received += 1;
        self.stats.bytes_received += pkt.payload.len() as u64;
        let now = self.clock.extend(pkt.timestamp);
        if Some(pkt.payload_type) == self.params.dtmf_pt {
            if let Some(ev) = self.hook.on_event_packet(pkt.timestamp, pkt.payload) {
                self.digit_4733(ev);
            }
            while let Some(ev) = self.hook.poll_rfc4733() {
                self.digit_4733(ev);
            }
        } else if pkt.payload_type == self.params.law.payload_type() {
            self.jitter.push(pkt.seq, pkt.timestamp, pkt.payload);
            self.drain_audio();
        }
        if let Some(ev) = self.hook.on_clock(pkt.timestamp) {
            self.digit_4733(ev);
        }
        while let Some(d) = self.merger.poll(now) {
            self.emit(MediaEvent::Digit(d));
        }
    }

    /// Some peers stop sending RTP in silence (VAD/DTX, hold). Digits that
    /// wait on the received RTP clock — a held in-band digit, a 4733 press
    /// whose End packets were lost — would then wait for the next packet.
    /// After [`QUIET`] without input, run that clock on by wall time.
    fn on_quiet(&mut self, now: Instant) {
        let Some(last) = self.last_rx else { return };
        let idle = now.saturating_duration_since(last);
        if idle < QUIET {
            return;
        }
        let ext = self.clock.now() + idle.as_millis() as u64 * 8;
        if let Some(ev) = self.hook.on_clock(ext as u32) {
            self.digit_4733(ev);
        }
        while let Some(d) = self.merger.poll(ext) {
            self.emit(MediaEvent::Digit(d));
        }
    }

    fn digit_4733(&mut self, mut ev: DigitEvent) {
        // Put the event on our extended clock (its own epoch may differ).
        let dur = ev.end.saturating_sub(ev.start);
        ev.start = self.rebase(ev.start as u32);
        ev.end = ev.start + dur;
        let ev = self.merger.on_rfc4733(ev);
        self.emit(MediaEvent::Digit(ev));
    }

    fn rebase(&self, ts: u32) -> u64 {
        self.clock.rebase(ts)
    }

    /// Decode in-order audio, fill gaps with silence so the detector's
    /// sample index stays a fixed offset from the RTP clock, feed it.
    fn drain_audio(&mut self) {
        let law = self.params.law;
        while let Some(f) = self.jitter.pop() {
            let n = f.payload.len();
            let ts = self.clock.rebase(f.timestamp);
            law.decode(f.payload, &mut self.pcm[..n]);
            let offset = *self.inband_offset.get_or_insert(ts);
            let expected = offset.wrapping_add(self.inband_fed);
            let gap = ts.wrapping_sub(expected);
            if gap > 0 && gap <= 8000 {
                // Lost packets or a silence gap: feed zeros.
                let zeros = [0i16; 160];
                let mut left = gap as usize;
                while left > 0 {
                    let k = left.min(zeros.len());
                    self.hook.push_audio(&zeros[..k]);
                    if let Some((_, rec)) = self.recording.as_mut() {
                        rec.extend_from_slice(&zeros[..k]);
                    }
                    left -= k;
                }
                self.inband_fed += gap;
            } else if gap != 0 {
                // Resync (large jump or backwards): re-anchor the offset.
                self.inband_offset = Some(ts.wrapping_sub(self.inband_fed));
            }
            self.hook.push_audio(&self.pcm[..n]);
            self.inband_fed += n as u64;
            if let Some((_, rec)) = self.recording.as_mut() {
                rec.extend_from_slice(&self.pcm[..n]);
            }
            while let Some(mut ev) = self.hook.poll_inband() {
                let off = self.inband_offset.unwrap_or(0);
                ev.start = ev.start.wrapping_add(off);
                ev.end = ev.end.wrapping_add(off);
                if let Some(out) = self.merger.on_inband(ev) {
                    self.emit(MediaEvent::Digit(out));
                }
            }
        }
    }

    fn finish(mut self, write_recording: bool) -> Result<MediaStats, MediaError> {
        let (packets, octets) = self.sender.counters();
        let j = self.jitter.stats();
        self.stats.packets_sent = packets;
        self.stats.bytes_sent = octets;
        self.stats.lost = j.lost;
        self.stats.duplicates = j.duplicates;
        self.stats.late = j.late;
        self.stats.inband_duplicates = self.merger.dropped_inband();
        if let (true, Some((path, samples))) = (write_recording, self.recording.take()) {
            crate::audio::write_wav_8k(&path, &samples)
                .map_err(|source| MediaError::Record { path, source })?;
        }
        Ok(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_extension_survives_wrap_and_reordering() {
        let mut t = TsExtender::default();
        let a = t.extend(u32::MAX - 159);
        let b = t.extend(160);
        assert_eq!(b - a, 320);
        let c = t.extend(0); // late packet, before b
        assert_eq!(b - c, 160);
        assert_eq!(t.now(), b);
    }

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
