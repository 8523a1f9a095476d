//! The per-call media task behind [`super::session::MediaHandle`]: the
//! `select!` loop over pacing deadline, RTP socket, RTCP socket and
//! commands, driving one [`Leg`] (see the `session` module docs).

use std::time::Instant;

use tokio::sync::mpsc;

use super::leg::{Leg, LegSink};
use super::pacer::Pacer;
use super::rtp::MAX_PACKET;
use super::session::{Command, MediaError, MediaEvent, MediaParams, MediaSession, MediaStats};

/// Events go to the handle; a full channel drops (counted by the leg).
impl LegSink for mpsc::Sender<MediaEvent> {
    fn event(&mut self, ev: MediaEvent) -> bool {
        self.try_send(ev).is_ok()
    }
}

/// Everything one call's task owns.
pub(super) struct Task {
    leg: Leg,
    events: mpsc::Sender<MediaEvent>,
}

impl Task {
    pub(super) fn new(
        session: MediaSession,
        params: MediaParams,
        events: mpsc::Sender<MediaEvent>,
    ) -> Self {
        Self {
            leg: Leg::new(session, params),
            events,
        }
    }

    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
    ) -> Result<MediaStats, MediaError> {
        let mut pacer = Pacer::new(Instant::now(), self.leg.period());
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
                    self.leg.skip(tick.skipped);
                    for _ in 0..tick.send {
                        self.leg.send_frame(|pcm| pcm.fill(0), &mut self.events).await;
                    }
                    self.leg.on_quiet(Instant::now(), &mut self.events);
                    sleep.as_mut().reset(pacer.deadline().into());
                }
                // Commands before sockets: a flood on the RTP port must not
                // starve stop() or barge-in (the timer comes first anyway).
                cmd = commands.recv() => match cmd {
                    Some(Command::Stop) => { write_recording = true; break; }
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
                },
                r = self.leg.rtp().recv_from(&mut rbuf) => match r {
                    Ok((n, src)) => {
                        self.leg.on_datagram(src, &rbuf[..n], Instant::now(), &mut self.events);
                    }
                    Err(e) => tracing::debug!(error = %e, "RTP receive error"),
                },
                r = self.leg.rtcp().recv_from(&mut cbuf) => {
                    if r.is_ok() {
                        self.leg.on_rtcp();
                    }
                }
            }
        }
        self.leg.finish(write_recording)
    }
}
