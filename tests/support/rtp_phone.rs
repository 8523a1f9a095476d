//! A test phone on 127.0.0.1 for the bridge tests: sends a prepared RTP
//! stream (audio frames at its ptime on absolute deadlines, plus RFC 4733
//! packets at given frames) and keeps every datagram it receives, with its
//! arrival time. Plus the audio measurements the bridge tests assert on.
//!
//! RTP is built with the project's `RtpSender` and parsed with `rtp::parse`
//! (the media session tests check those against hand-built packets).
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orderline::dtmf::{
    amplitude_to_dbm0, dbm0_to_amplitude, dtmf_samples, DtmfTiming, EventPacket, EventSender,
};
use orderline::media::rtp::{self, Datagram, RtpSender};
use orderline::media::{Law, MediaParams};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

pub const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const INITIAL_TS: u32 = 0xFFFF_F000; // wraps during the test

/// One datagram a phone received.
#[derive(Debug, Clone)]
pub struct Rx {
    pub at: Instant,
    pub pt: u8,
    pub payload: Vec<u8>,
}

/// What a phone sends: audio frames, and telephone-event packets due at a frame.
pub struct Script {
    pcm: Vec<i16>,
    spf: usize,
    events: Vec<(usize, EventPacket)>,
}

impl Script {
    pub fn new(pcm: Vec<i16>, ptime_ms: u32) -> Self {
        Self {
            pcm,
            spf: ptime_ms as usize * 8,
            events: Vec::new(),
        }
    }

    /// An RFC 4733 press of `digit` from sample `at` for `samples`, its
    /// packets sent along with the audio frames covering the same time.
    pub fn event(mut self, digit: char, at: usize, samples: u32) -> Self {
        let start = INITIAL_TS.wrapping_add(at as u32);
        for p in EventSender::new().digit(digit, start, samples).unwrap() {
            let frame = (at + p.send_at as usize).div_ceil(self.spf) - 1;
            self.events.push((frame, p));
        }
        self
    }
}

pub struct Phone {
    pub sock: Arc<UdpSocket>,
    pub law: Law,
    pub ptime_ms: u32,
    pub dtmf_pt: Option<u8>,
    rx: Arc<Mutex<Vec<Rx>>>,
    rx_task: JoinHandle<()>,
    /// Frames sent so far by the running script.
    pub sent: Arc<AtomicUsize>,
}

impl Drop for Phone {
    fn drop(&mut self) {
        self.rx_task.abort();
    }
}

impl Phone {
    pub async fn new(law: Law, ptime_ms: u32, dtmf_pt: Option<u8>) -> Self {
        let sock = Arc::new(UdpSocket::bind((LOCAL, 0)).await.unwrap());
        let rx = Arc::new(Mutex::new(Vec::new()));
        let rx_task = {
            let (sock, rx) = (sock.clone(), rx.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                while let Ok((n, _)) = sock.recv_from(&mut buf).await {
                    let at = Instant::now();
                    if let Ok(Datagram::Rtp(p)) = rtp::parse(&buf[..n]) {
                        rx.lock().unwrap().push(Rx {
                            at,
                            pt: p.payload_type,
                            payload: p.payload.to_vec(),
                        });
                    }
                }
            })
        };
        Self {
            sock,
            law,
            ptime_ms,
            dtmf_pt,
            rx,
            rx_task,
            sent: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The SDP the bridge would have got from this phone.
    pub fn params(&self) -> MediaParams {
        MediaParams {
            remote: self.sock.local_addr().unwrap(),
            law: self.law,
            dtmf_pt: self.dtmf_pt,
            ptime_ms: self.ptime_ms,
            srtp: None,
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Rx> {
        self.rx.lock().unwrap().clone()
    }

    /// Forget what was received so far.
    pub fn clear(&self) {
        self.rx.lock().unwrap().clear();
    }

    /// Stream `script` to `to` in real time; resolves to each frame's send time.
    pub fn send(&self, to: SocketAddr, script: Script) -> JoinHandle<Vec<Instant>> {
        let (sock, law, sent) = (self.sock.clone(), self.law, self.sent.clone());
        let (spf, period) = (script.spf, Duration::from_millis(self.ptime_ms as u64));
        let event_pt = self.dtmf_pt;
        sent.store(0, Ordering::SeqCst);
        tokio::spawn(async move {
            let mut tx = RtpSender::with_initial(0x5EED_0002, 40_000, INITIAL_TS);
            let (mut buf, mut codes) = ([0u8; 1500], vec![0u8; spf]);
            let start = tokio::time::Instant::now();
            let mut times = Vec::new();
            for (k, frame) in script.pcm.chunks(spf).enumerate() {
                tokio::time::sleep_until(start + period * k as u32).await;
                let mut f = frame.to_vec();
                f.resize(spf, 0);
                law.encode(&f, &mut codes);
                let n = tx.write_media(law.payload_type(), &codes, spf as u32, &mut buf);
                sock.send_to(&buf[..n.unwrap()], to).await.unwrap();
                times.push(Instant::now());
                for (_, e) in script.events.iter().filter(|(at, _)| *at == k) {
                    let pt = event_pt.expect("events need a telephone-event PT");
                    let n = tx.write_raw(pt, e.marker, e.timestamp, &e.payload, &mut buf);
                    sock.send_to(&buf[..n.unwrap()], to).await.unwrap();
                }
                sent.store(k + 1, Ordering::SeqCst);
            }
            times
        })
    }

    /// Wait until the running script has sent `frames` frames.
    pub async fn wait_sent(&self, frames: usize) {
        while self.sent.load(Ordering::SeqCst) < frames {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// Decode received audio packets in arrival order; asserts they all carry
/// `law` at `ptime_ms`. Returns the samples and, per packet, its arrival
/// time and first sample index.
pub fn heard(rx: &[Rx], law: Law, ptime_ms: u32) -> (Vec<i16>, Vec<(Instant, usize)>) {
    let mut pcm = Vec::new();
    let mut index = Vec::new();
    for r in rx {
        assert_eq!(r.pt, law.payload_type(), "payload type");
        assert_eq!(r.payload.len(), ptime_ms as usize * 8, "frame size");
        index.push((r.at, pcm.len()));
        let start = pcm.len();
        pcm.resize(start + r.payload.len(), 0);
        law.decode(&r.payload, &mut pcm[start..]);
    }
    (pcm, index)
}

/// A sine at `dbm0`, phase-continuous from sample `from`.
pub fn sine(hz: f64, dbm0: f32, from: usize, n: usize) -> Vec<i16> {
    let a = f64::from(dbm0_to_amplitude(dbm0));
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    (from..from + n)
        .map(|i| (a * (w * i as f64).sin()).round() as i16)
        .collect()
}

/// Mix `b` into `a` from sample `at`.
pub fn mix(a: &mut [i16], at: usize, b: &[i16]) {
    for (x, y) in a[at..].iter_mut().zip(b) {
        *x = x.saturating_add(*y);
    }
}

/// "Speech-like" audio that keeps clear of the DTMF band: a low group
/// (180–450 Hz) and a high group (2.1–3.0 kHz) of partials with syllabic
/// (3–6 Hz) envelopes, about −16 dBm0 overall. Real speech has formants
/// inside 697–1633 Hz and would trip a plain energy check by design.
pub fn speech_like(n: usize, seed: u32) -> Vec<i16> {
    let parts = [
        (180.0, 3.1),
        (260.0, 4.3),
        (370.0, 5.2),
        (450.0, 3.7),
        (2150.0, 4.9),
        (2500.0, 3.3),
        (2950.0, 5.9),
    ];
    let a = f64::from(dbm0_to_amplitude(-24.0));
    let s = f64::from(seed);
    (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let v: f64 = parts
                .iter()
                .enumerate()
                .map(|(k, &(f, m))| {
                    let env = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * m * t + s + k as f64).sin();
                    env * (2.0 * std::f64::consts::PI * f * t + 1.7 * k as f64 + s).sin()
                })
                .sum();
            (a * v) as i16
        })
        .collect()
}

/// Level (dBm0) of the `hz` component of `x`, Hann-windowed.
pub fn level_at(x: &[i16], hz: f64) -> f64 {
    let n = x.len();
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let (mut re, mut im, mut sum) = (0.0, 0.0, 0.0);
    for (k, &s) in x.iter().enumerate() {
        let h = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * k as f64 / n as f64).cos();
        re += h * f64::from(s) * (w * k as f64).cos();
        im += h * f64::from(s) * (w * k as f64).sin();
        sum += h;
    }
    let amp = 2.0 * (re * re + im * im).sqrt() / sum;
    f64::from(amplitude_to_dbm0(amp.max(1e-3) as f32))
}

/// Sine-equivalent level (dBm0) of `x` from its RMS.
pub fn level(x: &[i16]) -> f64 {
    let ms = x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64;
    f64::from(amplitude_to_dbm0(((2.0 * ms).sqrt()).max(1e-3) as f32))
}

/// Frequency from zero crossings.
pub fn frequency(x: &[i16]) -> f64 {
    let crossings = x.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 / 2.0 / (x.len() as f64 / 8000.0)
}

pub const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
pub const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// The DTMF content of the loudest 10 ms window of `x` (hop 2.5 ms).
#[derive(Debug, Clone, Copy)]
pub struct DtmfWindows {
    /// Loudest single DTMF-frequency component, dBm0, its frequency and window.
    pub single: (f64, f64, usize),
    /// Loudest *tone pair*: per window the weaker of its strongest row and
    /// strongest column component (a key is a row and a column tone; a
    /// click or a cut in low-frequency audio splatters mostly into the
    /// rows), dBm0, and the window.
    pub pair: (f64, usize),
}

/// Goertzel (Hann-windowed) at all 8 DTMF frequencies in every 10 ms window.
pub fn dtmf_windows(x: &[i16]) -> DtmfWindows {
    let mut w = DtmfWindows {
        single: (-200.0, 0.0, 0),
        pair: (-200.0, 0),
    };
    for start in (0..x.len().saturating_sub(80)).step_by(20) {
        let win = &x[start..start + 80];
        let mut best = [-200.0f64; 2];
        for (g, freqs) in [ROWS, COLS].iter().enumerate() {
            for &f in freqs {
                let l = level_at(win, f);
                best[g] = best[g].max(l);
                if l > w.single.0 {
                    w.single = (l, f, start);
                }
            }
        }
        let pair = best[0].min(best[1]);
        if pair > w.pair.0 {
            w.pair = (pair, start);
        }
    }
    w
}

/// Where `pattern` starts in `x`, searching the first `within` offsets.
pub fn find(x: &[i16], pattern: &[i16], within: usize) -> Option<usize> {
    (0..within.min(x.len().saturating_sub(pattern.len()) + 1))
        .find(|&i| x[i..i + pattern.len()] == *pattern)
}

/// Index of the first sample after at least `quiet` samples below `floor`
/// whose magnitude reaches `floor`, searching from `from`.
pub fn onset(x: &[i16], from: usize, quiet: usize, floor: i16) -> Option<usize> {
    let mut run = 0;
    for (i, &s) in x.iter().enumerate().skip(from) {
        if s.unsigned_abs() >= floor as u16 {
            if run >= quiet {
                return Some(i);
            }
            run = 0;
        } else {
            run += 1;
        }
    }
    None
}

/// A DTMF key `on_ms` long, low tone at `low` dBm0, high tone 2 dB louder.
pub fn key(d: char, on_ms: u32, low: f32) -> Vec<i16> {
    let t = DtmfTiming {
        on_ms,
        off_ms: 0,
        low_dbm0: low,
        high_dbm0: low + 2.0,
    };
    dtmf_samples(&d.to_string(), t).unwrap()
}

/// Packets received after `t`.
pub fn after(rx: Vec<Rx>, t: Instant) -> Vec<Rx> {
    rx.into_iter().filter(|r| r.at > t).collect()
}

/// Median level (dBm0) of 10 ms windows of `x`: robust to a rare gap.
pub fn median_level(x: &[i16]) -> f64 {
    let mut l: Vec<f64> = x.chunks_exact(80).map(level).collect();
    l.sort_by(f64::total_cmp);
    l[l.len() / 2]
}
