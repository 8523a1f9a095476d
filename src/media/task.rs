//! The per-call media task behind [`super::session::MediaHandle`]: the
//! `select!` loop over pacing deadline, RTP socket, RTCP socket and
//! commands, and what it does with each (see the `session` module docs).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::mpsc;

use super::digits::DigitMerger;
use super::dtmf_hook::DtmfHook;
use super::jitter::{JitterBuffer, MAX_PAYLOAD};
use super::pacer::Pacer;
use super::player::PromptPlayer;
use super::rtp::{self, Datagram, Latch, LatchVerdict, RtpSender, MAX_PACKET};
use super::session::{Command, MediaError, MediaEvent, MediaParams, MediaSession, MediaStats};
use crate::dtmf::DigitEvent;

/// Reorder depth in packets (60 ms at 20 ms ptime).
const REORDER_DEPTH: u16 = 3;
/// Input silence after which the receive clock is advanced by wall time.
const QUIET: Duration = Duration::from_millis(300);

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
pub(super) struct Task {
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
    pub(super) fn new(
        session: MediaSession,
        params: MediaParams,
        events: mpsc::Sender<MediaEvent>,
    ) -> Self {
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

    pub(super) async fn run(
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
                // Commands before sockets: a flood on the RTP port must not
                // starve stop() or barge-in (the timer comes first anyway).
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
            LatchVerdict::Foreign | LatchVerdict::Learning => {
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
}
