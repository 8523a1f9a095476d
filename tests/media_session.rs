//! The media session against a plain UDP peer on 127.0.0.1: what it sends
//! (pacing, sequence, timestamp, marker, SSRC, the exact prompt audio) and
//! what it hears (in-band DTMF from sox and from the tone generator, RFC 4733
//! events, both at once, reordering, duplicates, RTCP, strangers, NAT).
//!
//! RTP is built and parsed by hand here, not with the code under test.

#[macro_use]
mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orderline::config::PortRange;
use orderline::dtmf::{dtmf_samples, DigitSource, DtmfTiming};
use orderline::media::g711::{ulaw_decode, ulaw_encode};
use orderline::media::{
    Law, MediaEvent, MediaHandle, MediaParams, MediaSession, PlayItem, PortAllocator, PromptCache,
};
use tokio::net::UdpSocket;
use tokio::time::timeout;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PEER_SSRC: u32 = 0x5EED_0001;

fn ports(first: u16) -> Arc<PortAllocator> {
    Arc::new(PortAllocator::new(PortRange {
        first,
        last: first + 19,
    }))
}

fn params(remote: SocketAddr, dtmf_pt: Option<u8>) -> MediaParams {
    MediaParams {
        remote,
        law: Law::Mu,
        dtmf_pt,
        ptime_ms: 20,
        srtp: None,
    }
}

fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ts.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[derive(Debug, Clone)]
struct Rx {
    at: Instant,
    pt: u8,
    marker: bool,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

fn parse(buf: &[u8], at: Instant) -> Rx {
    assert!(
        buf.len() >= 12 && buf[0] == 0x80,
        "plain RTP v2 expected: {:02x?}",
        &buf[..2]
    );
    Rx {
        at,
        pt: buf[1] & 0x7F,
        marker: buf[1] & 0x80 != 0,
        seq: u16::from_be_bytes([buf[2], buf[3]]),
        ts: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        payload: buf[12..].to_vec(),
    }
}

async fn collect(sock: &UdpSocket, dur: Duration) -> Vec<Rx> {
    let end = Instant::now() + dur;
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(Ok((n, _))) = timeout(
        end.saturating_duration_since(Instant::now()),
        sock.recv_from(&mut buf),
    )
    .await
    {
        out.push(parse(&buf[..n], Instant::now()));
    }
    out
}

async fn events_until(h: &mut MediaHandle, quiet: Duration) -> Vec<MediaEvent> {
    let mut out = Vec::new();
    while let Ok(Some(ev)) = timeout(quiet, h.next_event()).await {
        out.push(ev);
    }
    out
}

fn digits(events: &[MediaEvent]) -> Vec<(char, DigitSource)> {
    events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Digit(d) => Some((d.digit, d.source)),
            _ => None,
        })
        .collect()
}

/// A far end sending µ-law RTP to the session, 20 ms frames, 4x real time.
struct Sender {
    sock: UdpSocket,
    to: SocketAddr,
    seq: u16,
    ts: u32,
}

impl Sender {
    async fn new(to: SocketAddr) -> Self {
        Self {
            sock: UdpSocket::bind((LOCAL, 0)).await.unwrap(),
            to,
            seq: 65_500,
            ts: u32::MAX - 2000,
        }
    }

    fn audio_packet(&mut self, frame: &[i16]) -> Vec<u8> {
        let payload: Vec<u8> = frame.iter().map(|&s| ulaw_encode(s)).collect();
        let p = rtp(0, false, self.seq, self.ts, PEER_SSRC, &payload);
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        p
    }

    /// RFC 4733 §2.3 payload: event, E bit + volume 10, duration.
    fn event_packet(&mut self, digit_code: u8, start_ts: u32, duration: u16, end: bool) -> Vec<u8> {
        let d = duration.to_be_bytes();
        let payload = [digit_code, if end { 0x80 } else { 0 } | 10, d[0], d[1]];
        let p = rtp(101, false, self.seq, start_ts, PEER_SSRC, &payload);
        self.seq = self.seq.wrapping_add(1);
        p
    }

    async fn send(&self, p: &[u8]) {
        self.sock.send_to(p, self.to).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    async fn send_pcm(&mut self, pcm: &[i16]) {
        for frame in pcm.chunks(160) {
            let mut f = [0i16; 160];
            f[..frame.len()].copy_from_slice(frame);
            let p = self.audio_packet(&f);
            self.send(&p).await;
        }
    }
}

fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * 8]
}

fn sox_tone(low: u32, high: u32) -> Vec<i16> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.wav");
    let st = std::process::Command::new("sox")
        .args([
            "-n",
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
        ])
        .arg(&p)
        .args([
            "synth",
            "0.12",
            "sine",
            &low.to_string(),
            "synth",
            "0.12",
            "sine",
            "mix",
            &high.to_string(),
        ])
        .args(["vol", "0.25", "pad", "0", "0.1"])
        .status()
        .expect("sox must be installed");
    assert!(st.success());
    orderline::audio::read_wav_8k(&p).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plays_prompt_paced_with_exact_audio_and_rtp_header_rules() {
    let cache = PromptCache::new(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")));
    let prompt = cache.get("en", "greeting").unwrap();
    let pool = ports(30_000);
    let peer = UdpSocket::bind((LOCAL, 0)).await.unwrap();
    let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
    assert_eq!(session.local_port() % 2, 0);
    assert_eq!(pool.available(), pool.capacity() - 1);
    let mut h = session.start(params(peer.local_addr().unwrap(), Some(101)));
    h.play(vec![
        PlayItem::Silence(100),
        PlayItem::Prompt(prompt.clone()),
    ])
    .await
    .unwrap();
    let secs = prompt.len() as f64 / 8000.0 + 0.8;
    let got = collect(&peer, Duration::from_secs_f64(secs)).await;
    let evs = events_until(&mut h, Duration::from_millis(50)).await;
    let stats = h.stop().await;
    assert_eq!(pool.available(), pool.capacity(), "ports returned on stop");

    // Header rules (RFC 3550 §5.1, RFC 3551 §4.5.14).
    assert!(got.len() > 100, "only {} packets", got.len());
    assert!(got[0].marker, "marker on the first packet");
    let mut skipped_frames = 0;
    for w in got.windows(2) {
        assert_eq!(w[1].ssrc, got[0].ssrc);
        assert_eq!(w[1].pt, 0);
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "consecutive seq");
        assert_eq!(w[1].payload.len(), 160);
        // ts += 160 per frame; a stall longer than the catch-up limit
        // skips frames as a timestamp gap that starts a new talkspurt.
        let dt = w[1].ts.wrapping_sub(w[0].ts);
        assert!(dt >= 160 && dt % 160 == 0 && dt < 160 * 100, "ts step {dt}");
        assert_eq!(w[1].marker, dt > 160, "marker only after a gap");
        skipped_frames += dt / 160 - 1;
    }
    // Pacing: absolute deadlines, so the arrival span matches the RTP clock
    // span however late single wake-ups were (no drift).
    let media = got.last().unwrap().ts.wrapping_sub(got[0].ts) as f64 / 8000.0;
    let span = got
        .last()
        .unwrap()
        .at
        .duration_since(got[0].at)
        .as_secs_f64();
    assert!(
        (span - media).abs() < 0.060,
        "{} packets over {span:.3} s for {media:.3} s of media ({skipped_frames} skipped)",
        got.len()
    );
    let worst = got
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .max()
        .unwrap();
    // Generous: a shared 2-core CI box can stall a debug build briefly.
    assert!(worst < Duration::from_millis(250), "worst gap {worst:?}");

    // The decoded audio is the prompt, sample for sample, frame-aligned
    // (µ-law prompt → our encoder → µ-law decode is lossless).
    let pcm: Vec<i16> = got
        .iter()
        .flat_map(|r| r.payload.iter().map(|&b| ulaw_decode(b)))
        .collect();
    let at = (0..pcm.len().saturating_sub(prompt.len()))
        .step_by(160)
        .find(|&i| pcm[i..i + prompt.len()] == prompt[..]);
    assert!(at.is_some(), "prompt not found in what was sent");
    let at = at.unwrap_or(0);
    assert!(
        pcm[at - 800..at].iter().all(|&s| s == 0),
        "100 ms of silence before it"
    );
    assert!(
        pcm[at + prompt.len()..].iter().all(|&s| s == 0),
        "silence after playback"
    );
    assert!(evs.contains(&MediaEvent::PlaybackDone), "{evs:?}");
    // One start per run of queued audio, reported before its end.
    let started = |e: &MediaEvent| matches!(e, MediaEvent::PlaybackStarted { .. });
    assert_eq!(evs.iter().filter(|e| started(e)).count(), 1, "{evs:?}");
    let first = evs.iter().position(started);
    let done = evs.iter().position(|e| *e == MediaEvent::PlaybackDone);
    assert!(first < done, "{evs:?}");
    assert!(stats.packets_sent >= got.len() as u64, "{stats:?}");
    assert_eq!(stats.bytes_sent, stats.packets_sent * 160);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inband_digits_survive_reordering_and_duplicates() {
    let pool = ports(30_040);
    let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
    let to = SocketAddr::new(LOCAL, session.local_port());
    let mut tx = Sender::new(to).await;
    let mut h = session.start(params(tx.sock.local_addr().unwrap(), None));

    let mut pcm = silence(200);
    pcm.extend(sox_tone(770, 1336)); // '5' from sox
    pcm.extend(dtmf_samples("19#", DtmfTiming::default()).unwrap());
    pcm.extend(silence(300));
    let packets: Vec<Vec<u8>> = pcm
        .chunks(160)
        .map(|f| {
            let mut fr = [0i16; 160];
            fr[..f.len()].copy_from_slice(f);
            tx.audio_packet(&fr)
        })
        .collect();
    // Swap neighbours now and then, duplicate a few.
    let mut order: Vec<usize> = (0..packets.len()).collect();
    for i in (12..order.len() - 2).step_by(9) {
        order.swap(i, i + 1);
    }
    for (k, &i) in order.iter().enumerate() {
        tx.send(&packets[i]).await;
        if k % 15 == 7 {
            tx.send(&packets[i]).await;
        }
    }
    let evs = events_until(&mut h, Duration::from_millis(400)).await;
    let stats = h.stop().await;
    let got = digits(&evs);
    assert_eq!(
        got,
        vec![
            ('5', DigitSource::InBand),
            ('1', DigitSource::InBand),
            ('9', DigitSource::InBand),
            ('#', DigitSource::InBand)
        ]
    );
    assert!(stats.duplicates >= 3, "{stats:?}");
    assert_eq!(stats.lost, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc4733_digits_and_inband_duplicate_is_dropped() {
    let pool = ports(30_080);
    let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
    let to = SocketAddr::new(LOCAL, session.local_port());
    let mut tx = Sender::new(to).await;
    let mut h = session.start(params(tx.sock.local_addr().unwrap(), Some(101)));
    tx.send_pcm(&silence(200)).await;

    // '4' both in-band and as telephone-event (a transcoding gateway).
    let tone4 = dtmf_samples(
        "4",
        DtmfTiming {
            on_ms: 120,
            off_ms: 0,
            ..DtmfTiming::default()
        },
    )
    .unwrap();
    let start = tx.ts;
    for (i, frame) in tone4.chunks(160).enumerate() {
        let p = tx.audio_packet(frame);
        tx.send(&p).await;
        let dur = ((i + 1) * 160) as u16;
        let last = i + 1 == tone4.len() / 160;
        let reps = if last { 3 } else { 1 };
        for _ in 0..reps {
            let e = tx.event_packet(4, start, dur, last);
            tx.send(&e).await;
        }
    }
    tx.send_pcm(&silence(200)).await;

    // '8' as telephone-event only, over silent audio; End packets repeated.
    let start = tx.ts;
    for i in 0..6u16 {
        let p = tx.audio_packet(&[0; 160]);
        tx.send(&p).await;
        let last = i == 5;
        for _ in 0..if last { 3 } else { 1 } {
            let e = tx.event_packet(8, start, (i + 1) * 160, last);
            tx.send(&e).await;
        }
    }
    tx.send_pcm(&silence(200)).await;

    // '2' in-band only: held for the 4733 look-aside, then reported.
    tx.send_pcm(&dtmf_samples("2", DtmfTiming::default()).unwrap())
        .await;
    tx.send_pcm(&silence(400)).await;

    let evs = events_until(&mut h, Duration::from_millis(400)).await;
    let stats = h.stop().await;
    assert_eq!(
        digits(&evs),
        vec![
            ('4', DigitSource::Rfc4733),
            ('8', DigitSource::Rfc4733),
            ('2', DigitSource::InBand)
        ],
        "{evs:?}"
    );
    assert_eq!(stats.inband_duplicates, 1, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symmetric_rtp_latches_to_real_source_and_ignores_rtcp_junk_strangers() {
    let pool = ports(30_120);
    let sdp_addr = UdpSocket::bind((LOCAL, 0)).await.unwrap(); // never sends
    let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
    let port = session.local_port();
    let mut h = session.start(params(sdp_addr.local_addr().unwrap(), None));
    let mut nat = Sender::new(SocketAddr::new(LOCAL, port)).await;
    let nat_addr = nat.sock.local_addr().unwrap();
    nat.send_pcm(&silence(100)).await;
    let evs = events_until(&mut h, Duration::from_millis(100)).await;
    assert_eq!(evs, vec![MediaEvent::RemoteLatched(nat_addr)]);
    // Our packets now reach the NATed source.
    let got = collect(&nat.sock, Duration::from_millis(200)).await;
    assert!(
        got.len() >= 5,
        "{} packets at the latched address",
        got.len()
    );

    // RTCP on RTP+1 and muxed on the RTP port; junk; a stranger's stream.
    let junk = UdpSocket::bind((LOCAL, 0)).await.unwrap();
    let rr = [0x80u8, 201, 0, 1, 1, 2, 3, 4];
    junk.send_to(&rr, (LOCAL, port + 1)).await.unwrap();
    junk.send_to(&rr, (LOCAL, port)).await.unwrap();
    junk.send_to(b"hello", (LOCAL, port)).await.unwrap();
    for i in 0..5u16 {
        junk.send_to(&rtp(0, false, i, 0, 0xBAD, &[0xFF; 160]), (LOCAL, port))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Still sending to the NATed peer, not to the stranger.
    let got = collect(&nat.sock, Duration::from_millis(200)).await;
    assert!(got.len() >= 5);
    let evs = events_until(&mut h, Duration::from_millis(50)).await;
    assert!(evs.is_empty(), "{evs:?}");
    let stats = h.stop().await;
    assert_eq!(stats.rtcp, 2, "{stats:?}");
    assert_eq!(stats.invalid, 1, "{stats:?}");
    // 3 packets from the NAT address while it was being learned + 5 stranger.
    assert_eq!(stats.foreign, 3 + 5, "{stats:?}");
    assert_eq!(stats.packets_received, 5 - 3, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barge_in_silences_within_a_frame_and_update_remote_moves_stream() {
    let pool = ports(30_160);
    let a = UdpSocket::bind((LOCAL, 0)).await.unwrap();
    let b = UdpSocket::bind((LOCAL, 0)).await.unwrap();
    let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
    let mut h = session.start(params(a.local_addr().unwrap(), None));
    let tone = PlayItem::Tone {
        hz: [440, 0],
        ms: 5000,
        level: 8000,
    };
    h.play(vec![tone]).await.unwrap();
    let before = collect(&a, Duration::from_millis(300)).await;
    assert!(
        before
            .iter()
            .skip(2)
            .all(|r| r.payload.iter().any(|&c| c != 0xFF)),
        "tone playing"
    );
    h.stop_playback().await.unwrap();
    let t = Instant::now();
    let after = collect(&a, Duration::from_millis(200)).await;
    // Only frames sent before the command was handled (still queued in our
    // socket) are loud: a prefix of at most a few; then silence only.
    let loud: Vec<usize> = (0..after.len())
        .filter(|&i| after[i].payload.iter().any(|&c| c != 0xFF))
        .collect();
    let prefix = loud.iter().enumerate().all(|(k, &i)| k == i);
    assert!(
        prefix && loud.len() <= 3,
        "non-silent frames after barge-in at {loud:?} (stopped {:?} ago)",
        t.elapsed()
    );

    // 183 → 200 with a different address: the stream follows, same SSRC/seq.
    let last = after.last().unwrap().clone();
    h.update_remote(params(b.local_addr().unwrap(), None))
        .await
        .unwrap();
    let moved = collect(&b, Duration::from_millis(200)).await;
    assert!(moved.len() >= 5);
    assert_eq!(moved[0].ssrc, last.ssrc);
    assert!(moved[0].seq.wrapping_sub(last.seq) < 5);
    let evs = events_until(&mut h, Duration::from_millis(50)).await;
    assert!(
        !evs.contains(&MediaEvent::PlaybackDone),
        "no PlaybackDone after barge-in"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_received_audio_to_wav() {
    let pool = ports(30_200);
    let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
    let to = SocketAddr::new(LOCAL, session.local_port());
    let mut tx = Sender::new(to).await;
    let h = session.start(params(tx.sock.local_addr().unwrap(), None));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heard.wav");
    h.record(path.clone()).await.unwrap();
    let pcm: Vec<i16> = (0..1600)
        .map(|i| ulaw_decode(ulaw_encode(((i % 50) * 300 - 7000) as i16)))
        .collect();
    tx.send_pcm(&pcm).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stats = h.stop().await;
    assert_eq!(stats.packets_received, 10);
    let heard = orderline::audio::read_wav_8k(&path).unwrap();
    assert_eq!(heard, pcm);
}

#[tokio::test]
async fn bind_reports_exhausted_pool() {
    let pool = Arc::new(PortAllocator::new(PortRange {
        first: 30_240,
        last: 30_241,
    }));
    let s = MediaSession::bind(LOCAL, &pool).await.unwrap();
    assert!(matches!(
        MediaSession::bind(LOCAL, &pool).await,
        Err(orderline::media::MediaError::NoPorts)
    ));
    drop(s);
    assert!(MediaSession::bind(LOCAL, &pool).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digits_are_reported_when_the_peer_goes_quiet() {
    let pool = ports(30_260);
    let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
    let to = SocketAddr::new(LOCAL, session.local_port());
    let mut tx = Sender::new(to).await;
    let mut h = session.start(params(tx.sock.local_addr().unwrap(), Some(101)));
    // In-band '3' with only 60 ms of audio after it, then nothing (DTX):
    // the digit is held for 4733 look-aside and must still come out.
    tx.send_pcm(&silence(100)).await;
    tx.send_pcm(
        &dtmf_samples(
            "3",
            DtmfTiming {
                on_ms: 100,
                off_ms: 60,
                ..DtmfTiming::default()
            },
        )
        .unwrap(),
    )
    .await;
    // A 4733 '6' whose End packets are all lost, then nothing.
    let start = tx.ts;
    for i in 1..=4u16 {
        let e = tx.event_packet(6, start, i * 160, false);
        tx.send(&e).await;
    }
    let evs = events_until(&mut h, Duration::from_millis(1200)).await;
    h.stop().await;
    let mut got = digits(&evs);
    got.sort_by_key(|(d, _)| *d);
    assert_eq!(
        got,
        vec![('3', DigitSource::InBand), ('6', DigitSource::Rfc4733)],
        "{evs:?}"
    );
}

/// SIPp's bundled RFC 2833 captures (Debian `sip-tester`), replayed datagram
/// for datagram into a session: one digit each, from a real implementation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_rfc2833_captures_replayed_into_the_session() {
    let pool = ports(30_280);
    for cap in support::sipp_captures::rfc2833_captures() {
        let (name, digit) = (cap.name, cap.digit);
        let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
        let to = SocketAddr::new(LOCAL, session.local_port());
        let tx = UdpSocket::bind((LOCAL, 0)).await.unwrap();
        let mut h = session.start(params(tx.local_addr().unwrap(), Some(101)));
        for dgram in &cap.datagrams {
            tx.send_to(dgram, to).await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let evs = events_until(&mut h, Duration::from_millis(150)).await;
        let stats = h.stop().await;
        assert_eq!(
            digits(&evs),
            vec![(digit, DigitSource::Rfc4733)],
            "{name}: {evs:?} {stats:?}"
        );
    }
}

/// A flood of junk and foreign RTP on the media port neither stalls the
/// 20 ms send clock nor starves commands (barge-in, stop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_on_the_port_does_not_starve_pacing_or_commands() {
    let pool = ports(30_320);
    let peer = UdpSocket::bind((LOCAL, 0)).await.unwrap();
    let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
    let port = session.local_port();
    let h = session.start(params(peer.local_addr().unwrap(), None));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pkt = rtp(0, false, 1, 0, 0xF100D, &[0x55; 160]);
    let flooder = support::flood::flood(port, pkt, stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = collect(&peer, Duration::from_secs(1)).await;
    let t = Instant::now();
    timeout(Duration::from_millis(500), h.stop_playback())
        .await
        .expect("barge-in starved")
        .unwrap();
    let stats = timeout(Duration::from_millis(500), h.stop())
        .await
        .expect("stop starved");
    let took = t.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = flooder.join().unwrap();
    assert!(
        got.len() >= 40,
        "{} packets in 1 s under a flood of {sent}",
        got.len()
    );
    assert!(stats.invalid + stats.foreign > 1000, "{stats:?}");
    assert!(took < Duration::from_millis(500), "{took:?}");
}

/// A "hello?": a 450 ms burst of three partials (never tonal, so never a
/// beep), loud enough to be voice.
fn hello() -> Vec<i16> {
    let n = 450 * 8;
    (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let env = (std::f64::consts::PI * i as f64 / n as f64).sin().sqrt();
            let s = (2.0 * std::f64::consts::PI * 220.0 * t).sin()
                + 0.7 * (2.0 * std::f64::consts::PI * 660.0 * t).sin()
                + 0.5 * (2.0 * std::f64::consts::PI * 1540.0 * t).sin();
            (12000.0 * env * s / 2.2) as i16
        })
        .collect()
}

/// Issue #12: a predictive line listens for an answering machine on the
/// live stream, then hands its sockets on (the same port the customer's
/// SDP names) to the next media, which goes on hearing the customer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machine_detection_on_the_stream_then_the_sockets_go_on() {
    let pool = ports(30_360);
    let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
    let port = session.local_port();
    let to = SocketAddr::new(LOCAL, port);
    let mut tx = Sender::new(to).await;
    let mut h = session.start(params(tx.sock.local_addr().unwrap(), None));
    h.detect_machine(orderline_amd::AmdConfig::default())
        .await
        .unwrap();
    // 300 ms before the customer speaks, "hello?", then silence.
    let pcm = [silence(300), hello(), silence(1200)].concat();
    tx.send_pcm(&pcm).await;
    let events = events_until(&mut h, Duration::from_millis(500)).await;
    let decisions: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Amd(d) => Some(*d),
            _ => None,
        })
        .collect();
    assert_eq!(decisions.len(), 1, "{events:?}");
    let d = decisions[0];
    assert_eq!(d.result, orderline_amd::AmdResult::Human, "{d:?}");
    // Decided on the stream's own clock: the greeting ended at ~750 ms,
    // the after-greeting silence (800 ms) then decided.
    let end = d.speech_end_ms.expect("the customer spoke");
    assert!((700..=780).contains(&end), "{d:?}");
    assert_eq!(d.decision_ms, end + 800, "{d:?}");

    let (session, stats) = h.release().await.unwrap();
    assert_eq!(
        stats.unwrap().packets_received,
        pcm.len().div_ceil(160) as u64
    );
    assert_eq!(session.local_port(), port, "the same sockets come back");
    // The next media on the same sockets hears the customer go on.
    let h = session.start(params(tx.sock.local_addr().unwrap(), None));
    tx.send_pcm(&silence(200)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(h.stop().await.packets_received, 10);
}

/// A machine's greeting runs past the greeting limit: `machine`, then its
/// beep is reported as a second decision (where a message would start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machine_then_beep_on_the_stream() {
    let pool = ports(30_400);
    let session = MediaSession::bind(LOCAL, &pool).await.unwrap();
    let to = SocketAddr::new(LOCAL, session.local_port());
    let mut tx = Sender::new(to).await;
    let mut h = session.start(params(tx.sock.local_addr().unwrap(), None));
    h.detect_machine(orderline_amd::AmdConfig::default())
        .await
        .unwrap();
    let greeting: Vec<i16> = (0..5)
        .flat_map(|_| [hello(), silence(40)].concat())
        .collect();
    let beep: Vec<i16> = (0..8 * 400)
        .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()) as i16)
        .collect();
    tx.send_pcm(&[silence(200), greeting, silence(300), beep, silence(600)].concat())
        .await;
    let events = events_until(&mut h, Duration::from_millis(500)).await;
    let decisions: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Amd(d) => Some((d.result, d.beep)),
            _ => None,
        })
        .collect();
    use orderline_amd::AmdResult::Machine;
    assert_eq!(decisions, [(Machine, false), (Machine, true)], "{events:?}");
    h.stop().await;
}
