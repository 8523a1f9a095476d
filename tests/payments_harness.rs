//! Self-tests of the end-to-end payment harness (`tests/support/{keypad,
//! audio_check,agent_phone,browser,card_data}.rs`, the SSE reader): each
//! tool is proven against an independent reference before the payment tests
//! rely on it. None of these needs the daemon.
//!
//! - key audio from spandsp's `dtmf_tx` decodes back to the keys with
//!   spandsp's `dtmf_rx` and orderline's detector, also after sox's µ-law;
//! - the RFC 4733 capture reads back (shared capture reader) to the keys with
//!   the project's receiver and by hand, three End packets each, real timing;
//!   and a real phone (baresip) reports the same keys when SIPp plays it;
//! - the agent's phone (baresip) answers, records what it hears and hangs up
//!   when its file ends; the no-DTMF check passes on a clean recording of
//!   hold-tone beeps and the marker through G.711, and fails on the same
//!   recording once it holds keys or a planted 5 ms fragment;
//! - headless Chromium over CDP fills, clicks and reads a local page;
//! - the card-data search finds planted values and ignores look-alikes.

#[macro_use]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::agent_phone::*;
use support::audio_check::*;
use support::browser::Browser;
use support::card_data::*;
use support::keypad::*;
use support::*;

fn card_script() -> KeyScript {
    KeyScript::card(0.5, "4242424242424242", "0831", "071", "06193")
}

#[test]
fn key_audio_from_spandsp_decodes_back_to_the_keys() {
    let script = card_script();
    assert_eq!(
        script.keys(),
        [
            "1",
            "4242424242424242#",
            "1",
            "0831",
            "1",
            "071",
            "1",
            "06193",
            "1"
        ]
        .concat()
    );
    assert_script_decodes(&script);

    // Through sox's µ-law (what SIPp streams) and back: still the same keys.
    let dir = tempfile::tempdir().expect("tempdir");
    let ul = script.write_ulaw(dir.path(), "keys");
    let raw = dir.path().join("back.raw");
    let st = std::process::Command::new("sox")
        .args(["-t", "ul", "-r", "8000", "-c", "1"])
        .arg(&ul)
        .args(["-t", "raw", "-e", "signed-integer", "-b", "16"])
        .arg(&raw)
        .status()
        .expect("sox");
    assert!(st.success());
    let back = dtmf_harness::read_raw(&raw);
    let (theirs, ours) = decode_both(&back);
    assert_eq!(theirs, script.keys(), "spandsp after µ-law");
    assert_eq!(ours, script.keys(), "orderline after µ-law");

    // The groups sit where the layout says, with silence between them.
    let layout = script.layout();
    let events = orderline::dtmf::decode_samples(&back);
    let mut i = 0;
    for (g, &(s, e)) in script.groups.iter().zip(&layout.groups) {
        for _ in g.chars() {
            let t = events[i].start as f64 / 8000.0;
            assert!(
                t >= s - 0.02 && t <= e,
                "key {i} at {t:.2} s, outside its group {s:.2}-{e:.2}"
            );
            i += 1;
        }
    }
    // The marker follows the keys.
    let marker = tone_frames(&back, MARKER_HZ, 3000.0);
    let (first, len) = longest_run(&marker);
    assert!(
        (first as f64 / 50.0 - layout.marker.0).abs() < 0.05 && len >= 120,
        "marker at frame {first}, {len} frames"
    );
    eprintln!(
        "key script: {} keys in {} groups, {:.1} s; marker {:.1}-{:.1} s",
        script.keys().len(),
        script.groups.len(),
        layout.total,
        layout.marker.0,
        layout.marker.1
    );
}

#[test]
fn rfc4733_capture_reads_back_to_the_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = card_script();
    let pcap = script.write_rfc4733_pcap(dir.path(), "keys");
    let bytes = std::fs::read(&pcap).expect("read pcap");
    let pkts = read_rtp_capture(&bytes);
    let layout = script.layout();
    assert_eq!(
        pkts.len(),
        (layout.total * 50.0).round() as usize,
        "one packet per 20 ms"
    );

    // The project's RFC 4733 receiver and a decode by hand agree with the script.
    assert_eq!(decode_capture_orderline(&pkts), script.keys());
    let (keys, ends) = decode_capture_by_hand(&pkts);
    assert_eq!(keys, script.keys());
    assert!(
        ends.iter().all(|&n| n == 3),
        "three End packets per key: {ends:?}"
    );

    // Real timing and sane RTP: one SSRC stream, sequence +1, capture time =
    // 20 ms per packet, audio timestamps = capture time, each key's packets
    // share the key's start timestamp and the first carries the marker bit.
    for w in pkts.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(w[1].at_us - w[0].at_us, 20_000);
    }
    let mut starts = 0;
    for (i, p) in pkts.iter().enumerate() {
        match p.pt {
            PT_PCMU => {
                assert_eq!(
                    u64::from(p.ts) * 125,
                    p.at_us,
                    "audio timestamp of packet {i}"
                );
                assert_eq!(p.payload.len(), 160);
            }
            PT_EVENT => {
                assert_eq!(p.payload.len(), 4);
                let dur = u16::from_be_bytes([p.payload[2], p.payload[3]]);
                assert!(u64::from(p.ts) * 125 + u64::from(dur) * 125 <= p.at_us + 60_000);
                if p.marker {
                    starts += 1;
                    assert_eq!(
                        u64::from(p.ts) * 125,
                        p.at_us,
                        "a key starts at its first packet"
                    );
                }
            }
            other => panic!("unexpected payload type {other}"),
        }
    }
    assert_eq!(starts, script.keys().len(), "one marked start per key");

    // The audio under the events carries the marker at its place, no key tones.
    let audio: Vec<i16> = pkts
        .iter()
        .flat_map(|p| {
            if p.pt == PT_PCMU {
                p.payload.iter().map(|&b| ulaw_decode(b)).collect()
            } else {
                vec![0; 160]
            }
        })
        .collect();
    let (first, len) = longest_run(&tone_frames(&audio, MARKER_HZ, 3000.0));
    assert!(
        (first as f64 / 50.0 - layout.marker.0).abs() < 0.05 && len >= 120,
        "marker at frame {first}"
    );
    let (theirs, ours) = decode_both(&audio);
    assert_eq!(
        (theirs.as_str(), ours.as_str()),
        ("", ""),
        "no in-band keys in the RFC 4733 capture's audio"
    );
}

/// SIPp calls a baresip phone and streams `action`; the phone talks for
/// `talk` seconds and then hangs up. Returns the phone (its call is over).
fn sipp_calls_phone(dir: &Path, action: &str, talk: f64) -> Baresip {
    let mut phone = agent_phone(dir, talk, 30);
    let sc = scenario(
        dir,
        "caller_streams.xml",
        &[
            ("@CODEC_PT@", "0"),
            ("@CODEC_NAME@", "PCMU"),
            ("@MEDIA_ACTION@", action),
        ],
    );
    let sipp = Sipp::start(
        &sc,
        dir,
        &["-s", AGENT_ID, &format!("127.0.0.1:{}", phone.port)],
    );
    let (ok, errors) = sipp.finish(Duration::from_secs(talk as u64 + 15));
    assert!(ok, "SIPp → baresip call failed (the phone must answer and hang up at the end of its file): {errors}\n{}", phone.logs());
    std::thread::sleep(Duration::from_millis(500));
    let _ = phone.wait_exit(Duration::from_millis(10));
    phone
}

#[test]
fn a_real_phone_reads_the_rfc4733_capture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = KeyScript {
        lead: 1.0,
        groups: vec!["1".into(), "4242#".into(), "0*9".into()],
        gap: 0.6,
        before_marker: 0.5,
        marker: 1.0,
        tail: 0.5,
    };
    let pcap = script.write_rfc4733_pcap(dir.path(), "events");
    let action = format!("play_pcap_audio=\"{}\"", pcap.display());
    let phone = sipp_calls_phone(dir.path(), &action, script.layout().total + 1.5);
    let log = phone.logs();
    let lines = received_dtmf_lines(&log);
    // baresip prints `received event: 'k' (end=1)` at each key's end.
    let keys: String = lines
        .iter()
        .filter(|l| l.contains("end=1"))
        .filter_map(|l| l.split('\'').nth(1).and_then(|k| k.chars().next()))
        .collect();
    assert_eq!(
        keys,
        script.keys(),
        "baresip read the capture's telephone-events as:\n{}",
        lines.join("\n")
    );
    // A phone does not turn received events into tones: its recording is clean.
    let report = assert_no_dtmf(&phone.heard(), "the phone receiving RFC 4733");
    eprintln!("RFC 4733 capture → baresip: {keys}; recording {report:?}");
}

/// What an agent hears in a payment, as a file: silence, hold-tone beeps
/// (425 Hz, switched abruptly: the worst case for clicks), the 600 Hz
/// marker, silence; `keys` (spandsp) at the end if given.
fn agent_ear_audio(keys: Option<&str>) -> (Vec<i16>, usize) {
    let mut x = vec![0i16; 8000];
    for _ in 0..4 {
        let on: Vec<i16> = (0..1600)
            .map(|i| {
                (7000.0 * (2.0 * std::f64::consts::PI * 425.0 * i as f64 / 8000.0).sin()) as i16
            })
            .collect();
        x.extend(on);
        x.extend(vec![0i16; 6400]);
    }
    let m0 = x.len();
    x.extend(vec![0i16; 16000]);
    write_tone(
        &mut x,
        m0 as f64 / 8000.0,
        (m0 + 16000) as f64 / 8000.0,
        MARKER_HZ,
        MARKER_AMP,
    );
    x.extend(vec![0i16; 8000]);
    let clean_end = x.len();
    if let Some(k) = keys {
        x.extend(dtmf_harness::spandsp_tx(k, -10, 0, 100, 100));
        x.extend(vec![0i16; 8000]);
    }
    (x, clean_end)
}

#[test]
fn agent_phone_records_what_it_hears_and_the_no_dtmf_check_is_calibrated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (audio, _) = agent_ear_audio(Some("159#"));
    let wav = dir.path().join("ear.wav");
    write_wav(&wav, &audio);
    let ul = dir.path().join("ear.ul");
    sox_g711(&wav, &ul, "ul");
    let action = format!("rtp_stream=\"{},1,0\"", ul.display());
    let talk = audio.len() as f64 / 8000.0 + 1.5;
    let t0 = std::time::Instant::now();
    let phone = sipp_calls_phone(dir.path(), &action, talk);
    let took = t0.elapsed().as_secs_f64();
    assert!(
        took < talk + 5.0,
        "the phone did not hang up at the end of its {talk:.1} s file ({took:.1} s)"
    );

    let heard = read_8k(&phone.heard());
    assert!(
        heard.len() as f64 / 8000.0 > talk - 2.0,
        "recording {} s",
        heard.len() / 8000
    );
    // The recording is what SIPp sent: beeps, then the marker, then the keys.
    let hold = tone_frames(&heard, 425.0, 2000.0);
    let marker = tone_frames(&heard, MARKER_HZ, 2000.0);
    assert!(
        hold.len() >= 35,
        "425 Hz beeps heard in {} frames",
        hold.len()
    );
    let (m_first, m_len) = longest_run(&marker);
    assert!(
        m_len >= 90 && m_first > *hold.last().expect("beeps"),
        "marker run {m_len} frames at {m_first}"
    );

    // Clean part (up to the keys, located by the marker's end): passes, with
    // its calibration; the part with keys: all three detectors object.
    // The keys start 1 s after the marker ends.
    let clean_upto = ((m_first + m_len) * 160 + 2000).min(heard.len());
    let report = check_no_dtmf_samples(&heard[..clean_upto], dir.path(), "the agent (clean part)")
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("clean recording through baresip: {report:?} (threshold {FRAGMENT_THRESHOLD})");
    assert!(
        report.worst < FRAGMENT_THRESHOLD / 2.0,
        "clean worst {:.0} leaves too little margin",
        report.worst
    );

    let full = check_no_dtmf(&phone.heard(), "the agent (with keys)");
    assert!(
        full.as_ref().is_err_and(|e| e.contains("159#")),
        "keys in the recording were not caught: {full:?}"
    );
    let (theirs, ours) = decode_both(&heard);
    assert_eq!((theirs.as_str(), ours.as_str()), ("159#", "159#"));
    let scan = scan_fragments(&heard);
    assert!(
        scan.hits.len() > 100,
        "the sweep saw the keys in only {} windows",
        scan.hits.len()
    );

    // A lone 5 ms fragment at −26 dBm0 in the clean part: only the sweep sees it
    // (too short for a detector), and it does.
    let at = hold[hold.len() / 2] * 160 + 40;
    let planted = insert_fragment(&heard[..clean_upto], at, '9', 5, -26);
    let scan = scan_fragments(&planted);
    assert!(!scan.hits.is_empty(), "5 ms fragment on a beep not caught");
    let (theirs, ours) = decode_both(&planted);
    eprintln!("5 ms fragment: sweep {:.0} (threshold {FRAGMENT_THRESHOLD}); spandsp {theirs:?}, orderline {ours:?}", scan.worst);
    let caught = check_no_dtmf_samples(&planted, dir.path(), "planted");
    assert!(
        caught.as_ref().is_err_and(|e| e.contains("fragments")),
        "a 5 ms key fragment passed: {caught:?}"
    );
}

#[test]
fn fragment_threshold_has_margin_on_synthetic_worst_cases() {
    // Abruptly switched hold tone, a ramped marker, speech-like 1 kHz, all
    // through µ-law: none reaches the threshold; 5 ms fragments at −26 dBm0
    // on top of each do, for every key.
    let (clean, _) = agent_ear_audio(None);
    let clean = dtmf_harness::ulaw_round_trip(&clean);
    let s = scan_fragments(&clean);
    assert!(
        s.hits.is_empty(),
        "clean synthetic audio trips the sweep: {:?}",
        &s.hits[..s.hits.len().min(5)]
    );
    let mut weakest: f64 = f64::MAX;
    for (i, k) in "0123456789*#ABCD".chars().enumerate() {
        let at = 8000 + (i % 4) * 8000 + 37 * i; // on a beep's start, middle, silence…
        let p = scan_fragments(&dtmf_harness::ulaw_round_trip(&insert_fragment(
            &clean, at, k, 5, -26,
        )));
        let near = p
            .hits
            .iter()
            .filter(|(a, _)| a.abs_diff(at) < 160)
            .map(|(_, m)| *m)
            .fold(0.0, f64::max);
        assert!(
            near >= FRAGMENT_THRESHOLD,
            "5 ms '{k}' at {at} read {near:.0}"
        );
        weakest = weakest.min(near);
    }
    assert!(
        s.worst < FRAGMENT_THRESHOLD / 2.0 && weakest > FRAGMENT_THRESHOLD * 1.5,
        "margins: clean {:.0}, planted {weakest:.0}",
        s.worst
    );
    eprintln!("synthetic: clean worst {:.0}; weakest planted 5 ms −26 dBm0 fragment {weakest:.0}; threshold {FRAGMENT_THRESHOLD}", s.worst);
}

/// A one-page site: a token field, a list of "calls", a form that posts to
/// `/echo` with fetch and shows the server's answer.
const PAGE: &str = r#"<!doctype html><html><head><title>harness</title></head><body>
<label for="tok">API token</label><input id="tok" type="password">
<button id="go" onclick="document.getElementById('calls').hidden=false">Connect</button>
<ul id="calls" hidden><li>call_abc <button onclick="pick('call_abc')">Take</button></li>
<li>call_xyz 923001234567 <button onclick="pick('call_xyz')">Take</button></li></ul>
<form id="f" onsubmit="event.preventDefault(); send()">
<input name="item" placeholder="Item"><input name="amount" placeholder="Amount">
<button type="submit">Request payment</button></form>
<div id="steps"><span data-step="card_number" class="todo">Card number</span></div>
<p id="result"></p>
<script>
let picked = null;
function pick(id) { picked = id; document.getElementById('result').textContent = 'picked ' + id; }
async function send() {
  const f = document.getElementById('f');
  const r = await fetch('/echo?call=' + picked + '&item=' + encodeURIComponent(f.item.value) + '&amount=' + f.amount.value,
                        { headers: { 'Authorization': 'Bearer ' + document.getElementById('tok').value } });
  document.getElementById('result').textContent = await r.text();
  setTimeout(() => { const s = document.querySelector('[data-step=card_number]'); s.textContent = 'Card number ✓'; s.className = 'completed'; }, 300);
}
</script></body></html>"#;

#[test]
fn browser_drives_a_local_page() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut r = BufReader::new(conn.try_clone().expect("clone"));
            let mut first = String::new();
            let _ = r.read_line(&mut first);
            let mut auth = String::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if h.to_ascii_lowercase().starts_with("authorization:") {
                    auth = h.trim().to_string();
                }
            }
            let path = first.split(' ').nth(1).unwrap_or("/").to_string();
            let body = if path.starts_with("/echo") {
                log.lock().expect("lock").push(format!("{path} {auth}"));
                format!("server got {path}")
            } else {
                PAGE.to_string()
            };
            let mut c = conn;
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = c.flush();
            let mut sink = Vec::new();
            let _ = c.read_to_end(&mut sink);
        }
    });

    let mut b = Browser::launch();
    b.navigate(&format!("http://{addr}/agent"));
    assert_eq!(b.eval("document.title"), "harness");
    let f = b
        .fill(&["token"], "agent-token-0123456789")
        .expect("token field found by its label");
    assert!(f.contains("#tok"), "{f}");
    b.click(&["^connect$", "sign in"]).expect("connect button");
    b.wait_for(
        "!document.getElementById('calls').hidden",
        Duration::from_secs(5),
        "call list",
    );
    let p = b.pick("923001234567").expect("call picked by number");
    assert!(p.contains("button"), "{p}");
    b.fill(&["item", "product"], "Blue kurta").expect("item");
    b.fill(&["amount"], "2500.00").expect("amount");
    b.click(&["request", "take payment"])
        .expect("request button");
    let r = b.wait_for(
        "document.getElementById('result').textContent.startsWith('server got') && document.getElementById('result').textContent",
        Duration::from_secs(5),
        "fetch result",
    );
    assert_eq!(
        r,
        "server got /echo?call=call_xyz&item=Blue%20kurta&amount=2500.00"
    );
    b.wait_for(
        "document.querySelector('[data-step=card_number]').textContent.includes('✓')",
        Duration::from_secs(5),
        "✓",
    );
    assert!(b.text().contains("Card number ✓"));
    let got = seen.lock().expect("lock").clone();
    assert_eq!(got, vec!["/echo?call=call_xyz&item=Blue%20kurta&amount=2500.00 Authorization: Bearer agent-token-0123456789".to_string()]);
    assert!(b.fill(&["no-such-field"], "x").is_none());
}

#[test]
fn card_data_search_finds_planted_values_and_ignores_lookalikes() {
    let s = Secrets::card("4242424242424242", "0831", "071", "06193");
    let clean = "2026-11-23T02:44:13.071Z port=40718 len=1071 ts=0.071 id=a071b v=06193x \
                 expires=2031-08 x4242424242 pay_42424242 08/311";
    assert!(
        s.find(clean.as_bytes()).is_empty(),
        "{:?}",
        s.find(clean.as_bytes())
    );
    for planted in [
        "pan=4242424242424242",
        "bin 424242424242xxxx",
        "exp 0831 ok",
        "exp=08/31",
        "{\"cvc\":\"071\"}",
        "postal=06193.",
        "\u{1b}[3mcvc\u{1b}[0m\u{1b}[2m=\u{1b}[0m071",
    ] {
        let text = strip_ansi(planted);
        assert!(!s.find(text.as_bytes()).is_empty(), "missed: {planted:?}");
    }
    let log = "a digit=4 b\nx digits=\"42#\" y\nkey: '1'\n{\"dtmf\":\"*\"}\nTelephoneEvent { event: 4, end: true }\n\
               input=Digit('7')\nDigitEvent { digit: '#', start: 8 }\n\
               ok event=step\nok key=Idempotency\nok keys=[]\nok digits=\"\"\nok monkey=5a\nok a=rtpmap:101 telephone-event/8000\n\
               ok IdempotencyKey(pay_1)\n\u{1b}[3mdigit\u{1b}[0m\u{1b}[2m=\u{1b}[0m7";
    let hits = keyed_digit_lines(log);
    assert_eq!(hits.len(), 8, "{hits:#?}");
    assert!(hits.iter().all(|h| !h.starts_with("ok")), "{hits:#?}");
}

#[test]
fn sse_reader_reads_events_until_the_result() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let (mut c, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 2048];
        let _ = c.read(&mut buf);
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
        for part in [
            "event: step\ndata: {\"step\":\"amount\",\"status\":\"entering\"}\n\n",
            ": keep-alive\n\n",
            "event: status\ndata: {\"status\":\"in_progress\"}\n\n",
            "event: result\ndata: {\"status\":\"succeeded\"}\n\n",
        ] {
            let _ = c.write_all(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes());
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_secs(3)); // a server that keeps the stream open
    });
    let t0 = std::time::Instant::now();
    let (status, events, raw) = support::http::sse(
        addr,
        "/v1/payments/p/events",
        "t",
        "result",
        Duration::from_secs(10),
    );
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "the reader waited past the result event"
    );
    assert_eq!(status, 200);
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names, ["step", "status", "result"]);
    assert_eq!(events[2].1, "{\"status\":\"succeeded\"}");
    assert!(raw.len() > 100);
}
