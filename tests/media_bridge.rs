//! The media bridge over real sockets on 127.0.0.1: two test phones (the
//! agent's and the customer's) stream real RTP into a `Bridge` and keep
//! what it sends them. What each party hears is decoded and measured:
//! transcoding, the squelch of in-band keys, RFC 4733 events (reported,
//! never forwarded), Secure mode (hold tone / prompts only), a key across a
//! mode switch, ringback, events, stats and port release.

#[macro_use]
mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orderline::config::PortRange;
use orderline::dtmf::{decode_samples, DigitSource};
use orderline::media::{
    Bridge, BridgeEvent, BridgeHandle, BridgeMode, Law, MediaEvent, MediaSession, PlayItem,
    PortAllocator, PromptCache, Side,
};
use support::rtp_phone::*;
use tokio::time::{sleep, timeout};

/// Limit on the tone-pair level of any 10 ms window the agent hears
/// ([`dtmf_windows`]): a 5 ms fragment of a −20 dBm0 key (weaker than any sent)
/// measures about −22, a hard cut of −16 dBm0 audio about −40.
const FRAGMENT_LIMIT_DBM0: f64 = -30.0;

fn pool(first: u16) -> Arc<PortAllocator> {
    Arc::new(PortAllocator::new(PortRange {
        first,
        last: first + 9,
    }))
}

/// A bridge between the two phones, connected.
async fn bridged(
    pool: &Arc<PortAllocator>,
    agent: &Phone,
    customer: &Phone,
) -> (BridgeHandle, u16, u16) {
    let a = MediaSession::bind(LOCAL, pool).await.unwrap();
    let c = MediaSession::bind(LOCAL, pool).await.unwrap();
    let (ap, cp) = (a.local_port(), c.local_port());
    let h = Bridge::start(a, agent.params()).unwrap();
    h.connect(c, customer.params()).await.unwrap();
    (h, ap, cp)
}

fn to(port: u16) -> std::net::SocketAddr {
    std::net::SocketAddr::new(LOCAL, port)
}

async fn events(h: &mut BridgeHandle, quiet: Duration) -> Vec<BridgeEvent> {
    let mut out = Vec::new();
    while let Ok(Some(ev)) = timeout(quiet, h.next_event()).await {
        out.push(ev);
    }
    out
}

fn digits(evs: &[BridgeEvent], side: Side) -> Vec<(char, DigitSource)> {
    evs.iter()
        .filter(|e| e.side == side)
        .filter_map(|e| match &e.event {
            MediaEvent::Digit(d) => Some((d.digit, d.source)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcodes_pcmu_and_pcma_each_leg_at_its_own_ptime() {
    let pool = pool(31_000);
    let agent = Phone::new(Law::Mu, 20, None).await;
    let customer = Phone::new(Law::A, 30, None).await;
    let (h, ap, cp) = bridged(&pool, &agent, &customer).await;
    let t0 = Instant::now();
    // 1.2 s of 1 kHz each way, at different levels.
    let a = agent.send(to(ap), Script::new(sine(1000.0, -10.0, 0, 9600), 20));
    let c = customer.send(to(cp), Script::new(sine(1000.0, -16.0, 0, 9600), 30));
    a.await.unwrap();
    c.await.unwrap();
    sleep(Duration::from_millis(200)).await;
    let stats = h.stop().await;

    // The customer hears A-law in 30 ms frames, the agent µ-law in 20 ms.
    let (at_customer, _) = heard(&after(customer.received(), t0), Law::A, 30);
    let (at_agent, _) = heard(&after(agent.received(), t0), Law::Mu, 20);
    for (name, x, want) in [
        ("customer", &at_customer, -10.0),
        ("agent", &at_agent, -16.0),
    ] {
        let start = onset(x, 0, 1, 300).expect("tone arrived");
        let steady = &x[start + 800..start + 8000];
        let (f, l) = (frequency(steady), median_level(steady));
        let gaps = steady
            .chunks_exact(80)
            .filter(|w| level(w) < want - 6.0)
            .count();
        eprintln!(
            "{name} hears {f:.1} Hz at {l:.2} dBm0 (sent {want}), {gaps} quiet 10 ms windows"
        );
        assert!((f - 1000.0).abs() < 5.0, "{name}: {f} Hz");
        assert!((l - want).abs() < 1.0, "{name}: {l} dBm0, want {want}");
        assert!(gaps <= 6, "{name}: {gaps} gaps in 0.9 s");
        assert!((level_at(steady, 1000.0) - want).abs() < 1.0);
    }
    assert!(
        stats.agent.packets_received >= 55 && stats.customer.packets_received >= 38,
        "{stats:?}"
    );
    assert_eq!(stats.squelched_samples, 0, "1 kHz is no key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talk_mode_squelches_inband_keys_and_passes_other_audio() {
    let pool = pool(31_020);
    let agent = Phone::new(Law::Mu, 20, None).await;
    let customer = Phone::new(Law::A, 20, None).await;

    // The customer: a key the moment streaming starts, keys (40–100 ms,
    // −20 to −6 dBm0) inside speech-like audio, a clean 440 Hz stretch, and a
    // key that ends with the stream.
    let n = 20_400;
    let mut c = vec![0i16; n];
    mix(&mut c, 480, &speech_like(12_320 - 480, 7));
    let presses = [
        (0, '1', 60, -10.0),
        (2400, '2', 40, -10.0),
        (4400, '3', 45, -15.0),
        (6400, '5', 100, -6.0),
        (8800, '#', 70, -14.0),
        (10_800, '0', 50, -12.0),
        (20_000, '9', 50, -10.0),
    ];
    for (at, d, ms, lvl) in presses {
        mix(&mut c, at, &key(d, ms, lvl));
    }
    mix(&mut c, 13_600, &sine(440.0, -16.0, 0, 4800)); // 1.7–2.3 s
    mix(&mut c, 18_400, &speech_like(1600, 3));
    let keys: String = decode_samples(&c).iter().map(|e| e.digit).collect();
    assert_eq!(keys, "1235#09", "the input must hold every key");
    // The agent sends the same 440 Hz stretch at the same time (delay reference).
    let mut a = vec![0i16; n];
    mix(&mut a, 13_600, &sine(440.0, -16.0, 0, 4800));

    let (mut h, ap, cp) = bridged(&pool, &agent, &customer).await;
    let t0 = Instant::now();
    let sent_c = customer.send(to(cp), Script::new(c.clone(), 20));
    let sent_a = agent.send(to(ap), Script::new(a, 20));
    let (sent_c, sent_a) = (sent_c.await.unwrap(), sent_a.await.unwrap());
    sleep(Duration::from_millis(200)).await;
    let evs = events(&mut h, Duration::from_millis(100)).await;
    let stats = h.stop().await;

    let (x, idx) = heard(&after(agent.received(), t0), Law::Mu, 20);
    // No digit, and no DTMF tone fragment anywhere in what the agent heard.
    let found = decode_samples(&x);
    assert!(found.is_empty(), "agent heard keys: {found:?}");
    let w = dtmf_windows(&x);
    eprintln!("agent side: loudest DTMF tone pair in 10 ms {w:?}");
    assert!(w.pair.0 < FRAGMENT_LIMIT_DBM0, "tone fragment: {w:?}");
    // The same check does catch keys: on the unsquelched input, and on a
    // single 5 ms fragment of the weakest key inside the speech-like audio.
    let unsquelched = dtmf_windows(&c);
    let mut frag = speech_like(4000, 7);
    let alone = dtmf_windows(&frag);
    mix(&mut frag, 2000, &key('3', 5, -20.0));
    let fragment = dtmf_windows(&frag);
    eprintln!(
        "check: unsquelched input {unsquelched:?}, speech-like {alone:?}, + 5 ms key {fragment:?}"
    );
    assert!(unsquelched.pair.0 > FRAGMENT_LIMIT_DBM0 + 10.0);
    assert!(
        alone.pair.0 < FRAGMENT_LIMIT_DBM0 - 6.0,
        "speech-like audio alone passes"
    );
    assert!(
        fragment.pair.0 > FRAGMENT_LIMIT_DBM0 + 3.0,
        "5 ms fragment must be caught"
    );

    // The 440 Hz stretch passes at its level, 40 ms (+ a frame) later.
    // Search from what left the bridge after the customer's speech-like
    // audio (it ends 160 ms before the 440 Hz) had passed the squelch.
    let from = |idx: &[(Instant, usize)], t: Instant| idx.iter().find(|p| p.0 > t).unwrap().1;
    let o = onset(&x, from(&idx, sent_c[82]), 200, 400).expect("440 Hz reached the agent");
    let l = median_level(&x[o + 400..o + 4000]);
    eprintln!("440 Hz at the agent: {l:.2} dBm0 (sent −16)");
    assert!((l + 16.0).abs() < 1.0, "{l}");
    assert!((frequency(&x[o + 400..o + 4000]) - 440.0).abs() < 3.0);
    let arrival = |idx: &[(Instant, usize)], o: usize| {
        let &(t, first) = idx.iter().rev().find(|(_, i)| *i <= o).unwrap();
        t + Duration::from_micros((o - first) as u64 * 125)
    };
    let c2a = arrival(&idx, o).duration_since(sent_c[13_600 / 160]);
    let (y, idx_c) = heard(&after(customer.received(), t0), Law::A, 20);
    let oc = onset(&y, from(&idx_c, sent_a[82]), 200, 400).expect("440 Hz reached the customer");
    let a2c = arrival(&idx_c, oc).duration_since(sent_a[13_600 / 160]);
    eprintln!("440 Hz onset delay: customer→agent {c2a:?}, agent→customer {a2c:?}");
    let extra = c2a.as_secs_f64() - a2c.as_secs_f64();
    assert!(
        c2a >= Duration::from_millis(40) && c2a < Duration::from_millis(130),
        "{c2a:?}"
    );
    assert!(
        (extra - 0.040).abs() < 0.025,
        "squelch adds {extra:.3} s, want 0.040 ± one frame"
    );

    // The customer's keys were still reported (the IVR needs them).
    let got: String = digits(&evs, Side::Customer).iter().map(|d| d.0).collect();
    eprintln!(
        "customer digits reported: {got}; squelched {} samples",
        stats.squelched_samples
    );
    assert!(got.starts_with("1235#0"), "{got}");
    assert!(
        stats.squelched_samples >= 8 * (60 + 40 + 45 + 100 + 70 + 50),
        "{stats:?}"
    );
}

/// Also: PlaybackDone per side, a prompt replacing forwarded audio on its
/// leg, recordings, and stop()'s counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc4733_digits_are_reported_per_side_and_never_forwarded() {
    let pool = pool(31_040);
    let agent = Phone::new(Law::Mu, 20, Some(101)).await;
    let customer = Phone::new(Law::A, 20, Some(101)).await;
    let (mut h, ap, cp) = bridged(&pool, &agent, &customer).await;
    let dir = tempfile::tempdir().unwrap();
    h.record(Side::Customer, dir.path().join("customer.wav"))
        .await
        .unwrap();
    h.record(Side::Agent, dir.path().join("agent.wav"))
        .await
        .unwrap();
    let t0 = Instant::now();
    let c = Script::new(speech_like(12_000, 1), 20)
        .event('4', 1600, 800)
        .event('2', 4800, 480)
        .event('#', 8000, 960);
    // The agent talks (1 kHz) and keys a 7; 1 s in, a prompt (a 300 Hz
    // tone) is played to the customer over the agent's voice.
    let a = Script::new(sine(1000.0, -20.0, 0, 12_000), 20).event('7', 2400, 800);
    let (c, a) = (customer.send(to(cp), c), agent.send(to(ap), a));
    agent.wait_sent(50).await;
    h.play(Side::Agent, vec![PlayItem::Silence(40)])
        .await
        .unwrap();
    let tone = PlayItem::Tone {
        hz: [300, 0],
        ms: 200,
        level: 2000,
    };
    h.play(Side::Customer, vec![tone]).await.unwrap();
    a.await.unwrap();
    c.await.unwrap();
    sleep(Duration::from_millis(300)).await;
    let evs = events(&mut h, Duration::from_millis(100)).await;
    let stats = h.stop().await;

    assert_eq!(
        digits(&evs, Side::Customer),
        vec![
            ('4', DigitSource::Rfc4733),
            ('2', DigitSource::Rfc4733),
            ('#', DigitSource::Rfc4733)
        ],
        "{evs:?}"
    );
    assert_eq!(
        digits(&evs, Side::Agent),
        vec![('7', DigitSource::Rfc4733)],
        "{evs:?}"
    );
    for side in [Side::Agent, Side::Customer] {
        let done = evs
            .iter()
            .filter(|e| e.side == side && e.event == MediaEvent::PlaybackDone);
        assert_eq!(done.count(), 1, "PlaybackDone for {side:?}: {evs:?}");
    }
    // Not one telephone-event packet reached either phone: audio only.
    for (name, p, law) in [("agent", &agent, Law::Mu), ("customer", &customer, Law::A)] {
        let rx = after(p.received(), t0);
        assert!(rx.len() >= 50, "{name}: {} packets", rx.len());
        assert!(
            rx.iter().all(|r| r.pt == law.payload_type()),
            "{name} got a non-audio packet"
        );
        assert!(decode_samples(&heard(&rx, law, 20).0).is_empty());
    }
    assert!(stats.customer.packets_received >= 75 + 3 * 5, "{stats:?}");
    assert!(stats.agent.packets_received >= 50, "{stats:?}");
    assert_eq!(
        (stats.customer.lost, stats.agent.lost),
        (0, 0),
        "telephone-events are no holes in the audio: {stats:?}"
    );
    assert!(
        stats.agent.packets_sent >= 75 && stats.customer.packets_sent >= 75,
        "{stats:?}"
    );
    // The prompt replaced the agent's voice on the customer's leg.
    let (y, _) = heard(&after(customer.received(), t0), Law::A, 20);
    let windows: Vec<(f64, f64)> = y
        .chunks_exact(80)
        .map(|w| (level_at(w, 300.0), level_at(w, 1000.0)))
        .collect();
    let prompt = windows.iter().filter(|w| w.0 > -25.0).count();
    let voice = windows.iter().filter(|w| w.1 > -25.0).count();
    let both = windows
        .iter()
        .filter(|w| w.0 > -25.0 && w.1 > -50.0)
        .count();
    eprintln!("customer: {prompt} windows of prompt, {voice} of agent voice, {both} of both");
    assert!(
        (18..=21).contains(&prompt) && voice >= 80 && both <= 1,
        "{prompt} {voice} {both}"
    );
    // Recordings hold what each side sent us.
    let rec = orderline::audio::read_wav_8k(&dir.path().join("customer.wav")).unwrap();
    assert_eq!(rec.len(), 12_000);
    assert!(level(&rec) > -24.0);
    let rec = orderline::audio::read_wav_8k(&dir.path().join("agent.wav")).unwrap();
    assert_eq!(rec.len(), 12_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_mode_agent_hears_only_hold_tone_customer_only_prompts() {
    let pool = pool(31_060);
    let prompt = PromptCache::new(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")))
        .get("en", "greeting")
        .unwrap();
    let agent = Phone::new(Law::A, 20, None).await;
    let customer = Phone::new(Law::Mu, 20, None).await;
    let (mut h, ap, cp) = bridged(&pool, &agent, &customer).await;
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("customer.wav");
    h.record(Side::Customer, recording.clone()).await.unwrap();
    let t0 = Instant::now();
    h.set_mode(BridgeMode::Secure).await.unwrap();
    h.play(
        Side::Customer,
        vec![PlayItem::Silence(200), PlayItem::Prompt(prompt.clone())],
    )
    .await
    .unwrap();
    // Both shout: a loud 1 kHz from the customer, a loud 440 Hz from the agent.
    let secs = 4.6;
    let n = (secs * 8000.0) as usize;
    let c = customer.send(to(cp), Script::new(sine(1000.0, -3.0, 0, n), 20));
    let a = agent.send(to(ap), Script::new(sine(440.0, -3.0, 0, n), 20));
    c.await.unwrap();
    a.await.unwrap();
    let evs = events(&mut h, Duration::from_millis(50)).await;
    let stats = h.stop().await;

    // The agent: the hold tone cadence from the switch on, and nothing else.
    let (x, _) = heard(&after(agent.received(), t0), Law::A, 20);
    let silent = |s: &i16| s.unsigned_abs() <= 8; // A-law's smallest code
    let start = x.iter().position(|s| !silent(s)).expect("hold tone");
    assert!(start < 800, "hold tone late: sample {start}");
    let got = &x[start..];
    assert!(got.len() >= 36_000, "{} samples", got.len());
    let on_len = got[..4400].iter().rposition(|s| !silent(s)).unwrap() + 1;
    assert!((3900..=4000).contains(&on_len), "on for {on_len} samples");
    // Off for 3.5 s while the customer shouts: not one sample of it.
    assert!(
        got[4000..32_000 - 100].iter().all(silent),
        "off-period not silent"
    );
    assert_eq!(
        got[..4000],
        got[32_000..36_000],
        "the same tone again after 4 s"
    );
    let on = level_at(&got[800..3200], 425.0);
    let again = level_at(&got[32_800..35_200], 425.0);
    eprintln!("hold tone: {on:.1} dBm0 for {on_len} samples, again {again:.1} dBm0 4 s later");
    assert!((on + 18.0).abs() < 1.0 && (again + 18.0).abs() < 1.0);
    assert!(
        level_at(got, 1000.0) < -60.0,
        "customer audio reached the agent"
    );
    let w = dtmf_windows(got);
    eprintln!("hold tone: loudest DTMF-frequency component in 10 ms {w:?}");
    assert!(
        w.single.0 < -45.0,
        "hold tone energy at a DTMF frequency: {w:?}"
    );

    // The customer: silence, the prompt, silence; no 440 Hz from the agent.
    let (y, _) = heard(&after(customer.received(), t0), Law::Mu, 20);
    let p = find(&y, &prompt, y.len()).expect("the prompt, sample for sample");
    assert!(
        y[..p].iter().chain(&y[p + prompt.len()..]).all(|&s| s == 0),
        "only the prompt"
    );
    assert!(evs.contains(&BridgeEvent {
        side: Side::Customer,
        event: MediaEvent::PlaybackDone
    }));
    assert_eq!(stats.squelched_samples, 0);
    // What the customer keyed in Secure mode is in no recording.
    let rec = orderline::audio::read_wav_8k(&recording).unwrap();
    assert!(rec.len() >= 36_000, "{} samples", rec.len());
    assert!(rec.iter().all(|&s| s == 0), "Secure-mode audio recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_pressed_across_secure_to_talk_never_reaches_the_agent() {
    let pool = pool(31_080);
    let agent = Phone::new(Law::Mu, 20, None).await;
    let customer = Phone::new(Law::A, 20, None).await;
    let (mut h, _, cp) = bridged(&pool, &agent, &customer).await;
    // Three rounds of 1 s: Secure (1 kHz from 100 to 500 ms), the switch to
    // Talk at 600 ms while a 100 ms key is sounding (started 10, 30 or 60 ms
    // before), 440 Hz from 720 to 900 ms; back to Secure at 1 s.
    let leads = [10usize, 30, 60];
    let mut c = Vec::new();
    for (r, lead) in leads.iter().enumerate() {
        let mut round = vec![0i16; 8000];
        mix(&mut round, 800, &sine(1000.0, -6.0, 0, 3200));
        mix(
            &mut round,
            4800 - lead * 8,
            &key(['5', '8', '*'][r], 100, -8.0),
        );
        mix(&mut round, 5760, &sine(440.0, -16.0, 0, 1440));
        c.extend(round);
    }
    assert_eq!(decode_samples(&c).len(), 3);
    h.set_mode(BridgeMode::Secure).await.unwrap();
    let t0 = Instant::now();
    let sending = customer.send(to(cp), Script::new(c.clone(), 20));
    let mut talk_from = Vec::new();
    for r in 0..leads.len() {
        customer.wait_sent(r * 50 + 30).await; // 600 ms into the round
        h.set_mode(BridgeMode::Talk).await.unwrap();
        talk_from.push(Instant::now());
        customer.wait_sent(r * 50 + 50).await;
        h.set_mode(BridgeMode::Secure).await.unwrap();
    }
    sending.await.unwrap();
    let evs = events(&mut h, Duration::from_millis(300)).await;
    let stats = h.stop().await;

    let rx = after(agent.received(), t0);
    let (x, _) = heard(&rx, Law::Mu, 20);
    assert!(decode_samples(&x).is_empty(), "a key reached the agent");
    let w = dtmf_windows(&x);
    eprintln!("across the switch: loudest DTMF tone pair in 10 ms {w:?}");
    assert!(w.pair.0 < FRAGMENT_LIMIT_DBM0, "tone fragment: {w:?}");
    let loud_1k = x
        .chunks_exact(80)
        .map(|w| level_at(w, 1000.0))
        .fold(-200.0, f64::max);
    eprintln!("1 kHz (sent in Secure at −6 dBm0) at the agent: at most {loud_1k:.1} dBm0");
    assert!(
        loud_1k < -40.0,
        "Secure-mode audio reached the agent: {loud_1k:.1} dBm0"
    );
    // Talk did resume each time: the 440 Hz stretches arrived.
    for (r, t) in talk_from.iter().enumerate() {
        let (y, _) = heard(
            &after(rx.clone(), *t + Duration::from_millis(200)),
            Law::Mu,
            20,
        );
        let l = level_at(&y[..800], 440.0);
        assert!(
            l > -20.0,
            "round {r}: no talk after the switch ({l:.1} dBm0 at 440 Hz)"
        );
    }
    let got: String = digits(&evs, Side::Customer).iter().map(|d| d.0).collect();
    assert_eq!(got, "58*", "the customer's keys were still detected");
    assert!(stats.squelched_samples >= 3 * 800, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ringback_before_connect_and_dropping_the_handle_frees_the_ports() {
    let pool = pool(31_100);
    let agent = Phone::new(Law::Mu, 20, None).await;
    let customer = Phone::new(Law::Mu, 20, None).await;
    let a = MediaSession::bind(LOCAL, &pool).await.unwrap();
    let h = Bridge::start(a, agent.params()).unwrap();
    assert!(matches!(
        h.play(Side::Customer, vec![PlayItem::Silence(20)]).await,
        Err(orderline::media::MediaError::NotConnected)
    ));
    sleep(Duration::from_millis(1400)).await;
    let (x, _) = heard(&agent.received(), Law::Mu, 20);
    assert!(x.len() >= 10_400, "{} samples", x.len());
    let on = level_at(&x[800..7200], 425.0);
    let sounding = x[..8000].iter().filter(|&&s| s != 0).count();
    eprintln!("ringback {on:.1} dBm0 ({sounding} samples of the first second), then silence");
    assert!(
        (on + 13.0).abs() < 1.0 && sounding > 7800,
        "{on} {sounding}"
    );
    assert!((frequency(&x[800..7200]) - 425.0).abs() < 3.0);
    assert!(x[8000..10_400].iter().all(|&s| s == 0), "4 s off");
    assert!(dtmf_windows(&x).single.0 < -45.0);

    // Connected: ringback stops at once (the customer is silent).
    let c = MediaSession::bind(LOCAL, &pool).await.unwrap();
    h.connect(c, customer.params()).await.unwrap();
    let t = Instant::now();
    sleep(Duration::from_millis(300)).await;
    let (y, _) = heard(&after(agent.received(), t), Law::Mu, 20);
    assert!(
        y.len() >= 1600 && y.iter().all(|&s| s == 0),
        "ringback after connect"
    );
    assert!(matches!(
        h.connect(
            MediaSession::bind(LOCAL, &pool).await.unwrap(),
            customer.params()
        )
        .await,
        Err(orderline::media::MediaError::AlreadyConnected)
    ));

    // A re-INVITE moves the agent's stream.
    let moved = Phone::new(Law::Mu, 20, None).await;
    h.update_remote(Side::Agent, moved.params()).await.unwrap();
    sleep(Duration::from_millis(200)).await;
    assert!(moved.received().len() >= 5, "stream did not follow");

    assert_eq!(pool.available(), pool.capacity() - 2);
    drop(h);
    let t = Instant::now();
    while pool.available() < pool.capacity() && t.elapsed() < Duration::from_secs(1) {
        sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        pool.available(),
        pool.capacity(),
        "ports released after drop"
    );
    let before = agent.received().len();
    sleep(Duration::from_millis(100)).await;
    assert_eq!(agent.received().len(), before, "nothing sent after drop");
}

/// A flood of junk and foreign RTP on the agent's port neither stops the
/// customer's audio from reaching the agent nor loses the customer's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_on_one_leg_does_not_starve_the_other() {
    let pool = pool(31_120);
    let agent = Phone::new(Law::Mu, 20, None).await;
    let customer = Phone::new(Law::Mu, 20, Some(101)).await;
    let (mut h, ap, cp) = bridged(&pool, &agent, &customer).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pkt = vec![0x80u8, 0, 0, 1, 0, 0, 0, 0, 0, 0xF1, 0x00, 0x0D];
    pkt.extend([0x55; 160]); // foreign RTP
    let flooder = support::flood::flood(ap, pkt, stop.clone());
    sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    let script = Script::new(sine(1000.0, -16.0, 0, 8000), 20).event('6', 2400, 800);
    customer.send(to(cp), script).await.unwrap();
    sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = flooder.join().unwrap();
    let evs = events(&mut h, Duration::from_millis(100)).await;
    let stats = h.stop().await;

    let (x, _) = heard(&after(agent.received(), t0), Law::Mu, 20);
    let loud = x
        .chunks_exact(80)
        .filter(|w| level_at(w, 1000.0) > -20.0)
        .count();
    eprintln!(
        "under a flood of {sent} datagrams: agent heard {loud} of 100 windows of the customer, {stats:?}"
    );
    assert!(loud >= 80, "customer audio starved: {loud} windows");
    assert_eq!(
        digits(&evs, Side::Customer),
        vec![('6', DigitSource::Rfc4733)]
    );
    assert!(
        stats.agent.invalid + stats.agent.foreign > 1000,
        "{stats:?}"
    );
    assert!(stats.customer.packets_received >= 50 + 5, "{stats:?}");
    assert_eq!(stats.customer.lost, 0, "events are no holes: {stats:?}");
}
