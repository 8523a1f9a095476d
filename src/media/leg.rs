//! One RTP leg, sans-IO: everything a call's media keeps per remote party,
//! without the event loop and without the sockets — a datagram in, packets
//! and events out (issue #9). The single-leg task and the two-leg bridge
//! own the sockets and drive `Leg`s from their own `select!`. This file
//! also owns what a leg is configured with and reports ([`MediaParams`],
//! [`MediaEvent`], [`MediaStats`]), so the tokio edge imports it and not
//! the reverse.
//!
//! - Receive: [`Leg::on_datagram`] parses, latches (RFC 4961), reorders,
//!   decodes, feeds the DTMF hook and the recording, and hands the decoded
//!   in-order audio to the caller's [`LegSink`] (RFC 4733 payloads go to the
//!   hook only: they are never audio for anyone else).
//! - Send: [`Leg::next_frame`] takes one frame from the caller's source
//!   (forwarded audio, a generated tone, or silence); if the leg's prompt
//!   player has something queued, the prompt replaces it. It returns the
//!   RTP packet and its destination; the caller sends it.
//!
//! Fixed buffers throughout: neither path allocates per packet.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::RngCore;

use super::digits::DigitMerger;
use super::dtmf_hook::DtmfHook;
use super::error::MediaError;
use super::g711::Law;
use super::jitter::{JitterBuffer, MAX_PAYLOAD};
use super::player::{PlayItem, PromptPlayer};
use super::rtp::{self, Datagram, Latch, LatchVerdict, RtpSender, MAX_PACKET};
use super::watch::{MediaTimeouts, MediaWatch};
use crate::dtmf::DigitEvent;

/// Reorder depth in packets (60 ms at 20 ms ptime).
const REORDER_DEPTH: u16 = 3;
/// Input silence after which the receive clock is advanced by wall time.
const QUIET: Duration = Duration::from_millis(300);
/// Largest gap (samples) filled with silence for the detector; beyond it
/// the stream is re-anchored instead.
const MAX_GAP_FILL: u64 = 8000;

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
    /// The far end's SRTP master key (SDES, RFC 4568), when SRTP was
    /// agreed; with our own ([`MediaSession::secure`]) the leg speaks SRTP.
    ///
    /// [`MediaSession::secure`]: super::MediaSession::secure
    pub srtp: Option<orderline_srtp::MasterKey>,
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
    /// The first frame of queued audio after an idle player is about to be
    /// sent (`at`: taken as the frame is built, just before the send). The
    /// safe-harbor message's "heard within 2 s" is this instant, not an
    /// estimate (16 CFR 310.4(b)(4)(iii)).
    PlaybackStarted { at: Instant },
    /// The playback queue ran empty (not sent after `stop_playback`).
    PlaybackDone,
    /// Symmetric RTP moved our send address here (RFC 4961).
    RemoteLatched(SocketAddr),
    /// Nothing (RTP or RTCP) came from the far end for this long: it has
    /// gone ([`super::watch`]). Sent once; the call layer hangs up.
    MediaTimeout { silent: Duration },
    /// The answering-machine detector decided (only while it listens:
    /// [`super::MediaHandle::detect_machine`]).
    Amd(orderline_amd::Decision),
}

/// Counters returned by [`MediaHandle::stop`](super::MediaHandle::stop).
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

/// Where a leg's output goes.
pub(super) trait LegSink {
    /// Report an event. Returns false if it could not be delivered (the
    /// leg counts it in [`MediaStats::events_dropped`]).
    fn event(&mut self, ev: MediaEvent) -> bool;

    /// Decoded received audio, in order, as it leaves the reorder buffer.
    /// Lost packets are *not* filled in here (the consumer runs on its own
    /// clock and fills underruns itself).
    fn audio(&mut self, pcm: &[i16]) {
        let _ = pcm;
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

/// Per-leg media state: negotiated parameters, RTP sender, latch,
/// player, reorder buffer, DTMF, recording, counters and buffers.
pub(super) struct Leg {
    params: MediaParams,
    sender: RtpSender,
    latch: Latch,
    player: PromptPlayer,
    /// Queued audio is going out (from its first frame to its drain or a
    /// stop): [`MediaEvent::PlaybackStarted`] once per run.
    sounding: bool,
    jitter: JitterBuffer,
    hook: DtmfHook,
    merger: DigitMerger,
    clock: TsExtender,
    /// Media-clock value of detector sample 0 (wrapping), once audio came.
    inband_offset: Option<u64>,
    inband_fed: u64,
    recording: Option<(PathBuf, Vec<i16>)>,
    /// Record silence instead of the received audio (keypad entry: card
    /// digits never reach a recording).
    record_muted: bool,
    /// When the last datagram arrived (to run the RTP clock on when the
    /// peer goes quiet).
    last_rx: Option<Instant>,
    /// The media timeout, once the call layer arms it.
    watch: Option<MediaWatch>,
    stats: MediaStats,
    pcm: [i16; MAX_PAYLOAD],
    payload: [u8; MAX_PAYLOAD],
    send_buf: [u8; MAX_PACKET],
    /// SRTP contexts once both keys are known (issue #14).
    srtp: Option<Box<LegSrtp>>,
    /// Our SRTP key, until the far end's arrives.
    srtp_local: Option<orderline_srtp::MasterKey>,
}

/// Both directions of a leg's SRTP (RFC 3711): ours protects what we send,
/// the far end's unprotects what arrives. Boxed: the key schedules are
/// large, and a plain-RTP leg should not carry them.
struct LegSrtp {
    tx: orderline_srtp::SrtpContext,
    rx: orderline_srtp::SrtpContext,
    remote: orderline_srtp::MasterKey,
    /// Where a received packet is authenticated and decrypted.
    buf: [u8; MAX_PACKET],
}

impl Leg {
    /// `params` must have been validated ([`MediaParams::validate`]).
    /// `rng` draws the stream's SSRC, first sequence number and timestamp
    /// (RFC 3550 §5.1: random origins); injected so a test can seed it.
    pub(super) fn new(params: MediaParams, rng: &mut impl RngCore) -> Self {
        Self {
            params,
            sender: RtpSender::new(rng),
            latch: Latch::new(params.remote),
            player: PromptPlayer::new(),
            sounding: false,
            jitter: JitterBuffer::new(REORDER_DEPTH),
            hook: DtmfHook::new(),
            merger: DigitMerger::new(params.dtmf_pt.is_some()),
            clock: TsExtender::default(),
            inband_offset: None,
            inband_fed: 0,
            recording: None,
            record_muted: false,
            last_rx: None,
            watch: None,
            stats: MediaStats::default(),
            pcm: [0; MAX_PAYLOAD],
            payload: [0; MAX_PAYLOAD],
            send_buf: [0; MAX_PACKET],
            srtp: None,
            srtp_local: None,
        }
    }

    /// Our SRTP key (what the SDP offered or answered): with the far end's
    /// in [`MediaParams::srtp`], every packet is protected both ways.
    pub(super) fn secure(&mut self, local: orderline_srtp::MasterKey) {
        self.srtp_local = Some(local);
        self.rekey();
    }

    /// (Re)build the SRTP contexts for the current keys; plain RTP when
    /// either side has none (SRTP offered as optional and declined).
    fn rekey(&mut self) {
        self.srtp = match (self.srtp_local, self.params.srtp) {
            (Some(local), Some(remote)) => {
                if self.srtp.as_ref().is_some_and(|s| s.remote == remote) {
                    return;
                }
                Some(Box::new(LegSrtp {
                    tx: orderline_srtp::SrtpContext::new(&local),
                    rx: orderline_srtp::SrtpContext::new(&remote),
                    remote,
                    buf: [0; MAX_PACKET],
                }))
            }
            _ => None,
        };
    }

    /// Frame period (the negotiated ptime).
    pub(super) fn period(&self) -> Duration {
        Duration::from_millis(self.params.ptime_ms as u64)
    }

    /// Samples per frame.
    pub(super) fn samples(&self) -> usize {
        self.params.samples()
    }

    /// New remote parameters (validated). Resets the latch if the address
    /// changed. Returns whether the ptime changed (re-pace the leg).
    pub(super) fn update(&mut self, params: MediaParams) -> bool {
        if params.remote != self.params.remote {
            self.latch = Latch::new(params.remote);
        }
        self.merger.set_prefer_4733(params.dtmf_pt.is_some());
        let new_period = params.ptime_ms != self.params.ptime_ms;
        self.params = params;
        self.rekey();
        new_period
    }

    pub(super) fn play(&mut self, items: Vec<PlayItem>) -> Result<(), MediaError> {
        self.player.enqueue(items).map_err(MediaError::from)
    }

    pub(super) fn stop_playback(&mut self) {
        self.player.stop();
        self.sounding = false;
    }

    pub(super) fn record(&mut self, path: PathBuf) {
        self.recording = Some((path, Vec::with_capacity(8000 * 60)));
    }

    /// While muted, the recording gets silence of the same length.
    pub(super) fn mute_recording(&mut self, muted: bool) {
        self.record_muted = muted;
    }

    /// Arm the media timeout (counting from `now`), or, once armed, tell it
    /// whether the far end holds the call.
    pub(super) fn watch(&mut self, timeouts: MediaTimeouts, on_hold: bool, now: Instant) {
        let w = self
            .watch
            .get_or_insert_with(|| MediaWatch::new(timeouts, now));
        w.set_hold(on_hold);
    }

    /// The far end sent something: RTP that passed the latch, or RTCP.
    fn heard(&mut self, now: Instant) {
        if let Some(w) = self.watch.as_mut() {
            w.heard(now);
        }
    }

    /// A datagram `data` on the RTCP port at `now` (counted, then dropped;
    /// it proves the far end is alive, RFC 3550 §6.2). With SRTP it must be
    /// SRTCP that authenticates (RFC 3711 §3.4), or it proves nothing.
    pub(super) fn on_rtcp(&mut self, data: &mut [u8], now: Instant) {
        if let Some(s) = self.srtp.as_mut() {
            if s.rx.unprotect_rtcp(data).is_err() {
                self.stats.invalid += 1;
                return;
            }
        }
        self.heard(now);
        self.stats.rtcp += 1;
    }

    /// The pacer gave up `frames` overdue frames: a timestamp gap.
    pub(super) fn skip(&mut self, frames: u32) {
        if frames > 0 {
            self.stats.frames_skipped += frames as u64;
            self.sender.skip(frames * self.params.samples() as u32);
        }
    }

    fn emit(&mut self, sink: &mut impl LegSink, ev: MediaEvent) {
        if !sink.event(ev) {
            self.stats.events_dropped += 1;
        }
    }

    /// Build one frame's RTP packet: returns it with the address to send
    /// it to (the latched remote, RFC 4961), or `None` if it could not be
    /// built (logged). `fill` writes the frame's audio (it is always
    /// called, so a forwarding source keeps its pace); a queued prompt
    /// replaces it. A `PlaybackDone` for the prompt's last frame is
    /// reported here, before the caller sends that frame.
    pub(super) fn next_frame(
        &mut self,
        fill: impl FnOnce(&mut [i16]),
        sink: &mut impl LegSink,
    ) -> Option<(&[u8], SocketAddr)> {
        let spf = self.params.samples();
        let law = self.params.law;
        fill(&mut self.pcm[..spf]);
        if self.player.is_playing() {
            if !self.sounding {
                self.sounding = true;
                let at = Instant::now();
                self.emit(sink, MediaEvent::PlaybackStarted { at });
            }
            self.player.fill(&mut self.pcm[..spf]);
        }
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
                return None;
            }
        };
        let n = match self.srtp.as_mut() {
            Some(s) => match s.tx.protect_rtp(&mut self.send_buf, n) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "cannot protect RTP packet");
                    return None;
                }
            },
            None => n,
        };
        if self.player.take_drained() {
            self.sounding = false;
            self.emit(sink, MediaEvent::PlaybackDone);
        }
        Some((&self.send_buf[..n], self.latch.remote()))
    }

    /// A datagram from the RTP port, received at `now`.
    pub(super) fn on_datagram(
        &mut self,
        src: SocketAddr,
        data: &[u8],
        now: Instant,
        sink: &mut impl LegSink,
    ) {
        self.last_rx = Some(now);
        // SRTP: authenticate and decrypt into the context's own buffer
        // first; what fails the check (a stranger, a replay, plain RTP)
        // goes no further. The box moves out and back: no copy, no allocation.
        let Some(mut s) = self.srtp.take() else {
            self.on_plain(src, data, now, sink);
            return;
        };
        let len = data.len();
        let opened = match s.buf.get_mut(..len) {
            Some(buf) => {
                buf.copy_from_slice(data);
                // RTCP multiplexed on the RTP port (RFC 5761 §4) is SRTCP.
                if len > 1 && (200..=204).contains(&data[1]) {
                    s.rx.unprotect_rtcp(buf)
                } else {
                    s.rx.unprotect_rtp(buf)
                }
            }
            None => Err(orderline_srtp::SrtpError::Malformed),
        };
        match opened {
            Ok(n) => self.on_plain(src, &s.buf[..n], now, sink),
            Err(_) => self.stats.invalid += 1,
        }
        self.srtp = Some(s);
    }

    /// A datagram in the clear (plain RTP, or SRTP once unprotected).
    fn on_plain(&mut self, src: SocketAddr, data: &[u8], now: Instant, sink: &mut impl LegSink) {
        let pkt = match rtp::parse(data) {
            Ok(Datagram::Rtp(p)) => p,
            Ok(Datagram::Rtcp) => {
                self.heard(now);
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
                self.emit(sink, MediaEvent::RemoteLatched(to));
            }
            LatchVerdict::Accept => {}
        }
        self.heard(now);
        self.stats.packets_received += 1;
        self.stats.bytes_received += pkt.payload.len() as u64;
        let clock = self.clock.extend(pkt.timestamp);
        if Some(pkt.payload_type) == self.params.dtmf_pt {
            // Telephone-events end here: reported as digits, never forwarded.
            if let Some(ev) = self.hook.on_event_packet(pkt.timestamp, pkt.payload) {
                self.digit_4733(ev, sink);
            }
            while let Some(ev) = self.hook.poll_rfc4733() {
                self.digit_4733(ev, sink);
            }
        }
        if pkt.payload_type == self.params.law.payload_type() {
            self.jitter.push(pkt.seq, pkt.timestamp, pkt.payload);
        } else {
            // Telephone-events (and any other payload) share the stream's
            // sequence numbers: take their place in the reorder buffer with
            // no audio, or the audio behind them would wait for a "lost"
            // packet (60 ms) and the loss count would grow with every event.
            self.jitter.push(pkt.seq, pkt.timestamp, &[]);
        }
        self.drain_audio(sink);
        if let Some(ev) = self.hook.on_clock(pkt.timestamp) {
            self.digit_4733(ev, sink);
        }
        self.poll_merger(clock, sink);
    }

    fn poll_merger(&mut self, clock: u64, sink: &mut impl LegSink) {
        while let Some(d) = self.merger.poll(clock) {
            self.emit(sink, MediaEvent::Digit(d));
        }
    }

    /// Some peers stop sending RTP in silence (VAD/DTX, hold). Digits that
    /// wait on the received RTP clock — a held in-band digit, a 4733 press
    /// whose End packets were lost — would then wait for the next packet.
    /// After [`QUIET`] without input, run that clock on by wall time.
    /// Also where the media timeout fires ([`MediaEvent::MediaTimeout`]).
    pub(super) fn on_quiet(&mut self, now: Instant, sink: &mut impl LegSink) {
        if let Some(silent) = self.watch.as_mut().and_then(|w| w.poll(now)) {
            tracing::info!(
                silent_ms = silent.as_millis() as u64,
                "no media from the far end"
            );
            self.emit(sink, MediaEvent::MediaTimeout { silent });
        }
        let Some(last) = self.last_rx else { return };
        let idle = now.saturating_duration_since(last);
        if idle < QUIET {
            return;
        }
        let ext = self.clock.now() + idle.as_millis() as u64 * 8;
        if let Some(ev) = self.hook.on_clock(ext as u32) {
            self.digit_4733(ev, sink);
        }
        self.poll_merger(ext, sink);
    }

    fn digit_4733(&mut self, mut ev: DigitEvent, sink: &mut impl LegSink) {
        // Put the event on our extended clock (its own epoch may differ).
        let dur = ev.end.saturating_sub(ev.start);
        ev.start = self.clock.rebase(ev.start as u32);
        ev.end = ev.start + dur;
        let ev = self.merger.on_rfc4733(ev);
        self.emit(sink, MediaEvent::Digit(ev));
    }

    /// Decode in-order audio, fill gaps with silence so the detector's
    /// sample index stays a fixed offset from the RTP clock, feed it, and
    /// hand the decoded frames to the sink.
    fn drain_audio(&mut self, sink: &mut impl LegSink) {
        let law = self.params.law;
        while let Some(f) = self.jitter.pop() {
            let n = f.payload.len();
            if n == 0 {
                continue; // a non-audio packet's place in the sequence
            }
            let ts = self.clock.rebase(f.timestamp);
            law.decode(f.payload, &mut self.pcm[..n]);
            let offset = *self.inband_offset.get_or_insert(ts);
            let expected = offset.wrapping_add(self.inband_fed);
            let gap = ts.wrapping_sub(expected);
            if gap > 0 && gap <= MAX_GAP_FILL {
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
                if self.record_muted {
                    rec.resize(rec.len() + n, 0);
                } else {
                    rec.extend_from_slice(&self.pcm[..n]);
                }
            }
            sink.audio(&self.pcm[..n]);
            while let Some(mut ev) = self.hook.poll_inband() {
                let off = self.inband_offset.unwrap_or(0);
                ev.start = ev.start.wrapping_add(off);
                ev.end = ev.end.wrapping_add(off);
                if let Some(out) = self.merger.on_inband(ev) {
                    self.emit(sink, MediaEvent::Digit(out));
                }
            }
        }
    }

    /// Counters so far (without the final reorder/send figures).
    pub(super) fn stats(&self) -> MediaStats {
        let mut s = self.stats;
        let (packets, octets) = self.sender.counters();
        let j = self.jitter.stats();
        s.packets_sent = packets;
        s.bytes_sent = octets;
        s.lost = j.lost;
        s.duplicates = j.duplicates;
        s.late = j.late;
        s.inband_duplicates = self.merger.dropped_inband();
        s
    }

    /// End of the leg: final counters, and the recording (its path and
    /// samples) if one was asked for; the caller writes it (file IO is the
    /// edge's job).
    /// Events a sink could not deliver outside [`LegSink::event`] (the
    /// task's detector decisions), counted with the leg's own.
    pub(super) fn count_dropped(&mut self, n: u64) {
        self.stats.events_dropped += n;
    }

    pub(super) fn finish(self) -> (MediaStats, Option<(PathBuf, Vec<i16>)>) {
        (self.stats(), self.recording)
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
            srtp: None,
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
