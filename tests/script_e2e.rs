//! The confirmation script end to end (issue #13): a merchant posts orders
//! with a store, a number, named items and a delivery fee to `orderline
//! serve`; the names are rendered when the order arrives (English by the
//! neural voice, French by espeak-ng); the daemon calls a baresip phone that
//! records what it hears.
//!
//! Every test prompt starts with a DTMF marker (`hello` A, `calling_from` B,
//! `about_order_number` C, `you_ordered` D, `total_including_delivery` *,
//! `total_is` #, the numbers 0-9 their own digit), so the digits decoded from
//! the recording spell the prompt sequence the callee heard, in order. The
//! rendered names are real speech between the markers.

#[macro_use]
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use orderline::dtmf::Detector;
use support::http::{json, WebhookSink};
use support::*;

const TOKEN: &str = "script-token-5d1e";

/// A marker: one 80 ms DTMF tone and a 60 ms gap.
fn marker(d: char) -> Vec<i16> {
    keypress_audio(&[(0.0, d, 0.08)], 0.14)
}

fn mark_prompts(dir: &Path) {
    let en = dir.join("prompts/en");
    let marks = [
        ("hello", 'A'),
        ("calling_from", 'B'),
        ("about_order_number", 'C'),
        ("you_ordered", 'D'),
        ("total_including_delivery", '*'),
        ("total_is", '#'),
        ("operator_hold", 'A'),
    ];
    for (name, d) in marks {
        write_wav(&en.join(format!("{name}.wav")), &marker(d));
    }
    // The last words before BYE: a second of tail, so the phone's recording
    // (which ends with the call) holds all of the marker.
    let last = keypress_audio(&[(0.0, 'B', 0.08)], 1.0);
    write_wav(&en.join("operator_callback.wav"), &last);
    for n in 0..10u32 {
        let d = char::from_digit(n, 10).expect("digit");
        write_wav(&en.join(format!("{n}.wav")), &marker(d));
    }
}

struct Shop {
    dir: tempfile::TempDir,
    sink: WebhookSink,
    http: SocketAddr,
    daemon: Daemon,
    trunk: u16,
}

impl Shop {
    fn start() -> Shop {
        Shop::start_with(|_| {})
    }

    /// As [`Shop::start`], `prepare` adjusting the test directory after
    /// the prompts are marked.
    fn start_with(prepare: impl FnOnce(&Path)) -> Shop {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = WebhookSink::start();
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let http = l.local_addr().expect("addr");
        drop(l);
        let trunk = free_udp_block(2);
        let tail = format!(
            "[http]\nlisten = \"{http}\"\napi_tokens = [\"{TOKEN}\"]\n\n\
             [webhooks]\nurl = \"{}\"\nsecret = \"whsec-script\"\n\n\
             [merchant]\nname = \"Lawn House\"\n\n\
             [[dialer.modes]]\nid = \"operators\"\nkind = \"new_leads\"\npriority = 10\n\
             status_after_max = \"no_contact\"\nagents = [\"a1\"]\n\n\
             [[dialer.statuses]]\nname = \"no_contact\"\n",
            sink.url()
        );
        let daemon = Daemon::start_with(dir.path(), trunk, &tail, |d| {
            mark_prompts(d);
            prepare(d);
        });
        Shop {
            dir,
            sink,
            http,
            daemon,
            trunk,
        }
    }

    fn post(&self, body: &str) -> serde_json::Value {
        let (st, v) = json(self.http, "POST", "/v1/orders", TOKEN, Some(body));
        assert_eq!(st, 201, "create: {v}\n{}", self.daemon.logs());
        v
    }

    fn order(&self, id: &str) -> serde_json::Value {
        let (st, v) = json(self.http, "GET", &format!("/v1/orders/{id}"), TOKEN, None);
        assert_eq!(st, 200, "get {id}: {v}");
        v
    }

    fn wait_status(&self, id: &str, want: &str, limit: Duration) -> serde_json::Value {
        support::http::wait_order_status(self.http, TOKEN, id, &[want], limit, || {
            self.daemon.logs()
        })
    }

    /// A phone on the trunk port keying `presses` after it answers.
    fn phone(&self, name: &str, presses: &[(f64, char)], secs: f64) -> Baresip {
        let src = self.dir.path().join(format!("{name}.wav"));
        let keys: Vec<_> = presses.iter().map(|&(t, k)| (t, k, 0.12)).collect();
        write_wav(&src, &keypress_audio(&keys, secs));
        // baresip answers only its own user: the order's phone number.
        let home = self.dir.path().join(format!("phone-{name}"));
        std::fs::create_dir_all(&home).expect("mkdir phone home");
        Baresip::phone(&home, "03001234567", self.trunk, &src, 60, "PCMU")
    }
}

/// Digits decoded from what the phone heard, with their start samples.
fn heard(phone: &Baresip) -> (String, Vec<usize>, Vec<i16>) {
    std::thread::sleep(Duration::from_millis(500));
    let audio = orderline::audio::read_wav_8k(&phone.heard()).expect("baresip's recording");
    let mut det = Detector::new();
    // The detector queues a few events: poll after every 20 ms block.
    let mut events = Vec::new();
    for block in audio.chunks(160) {
        det.push(block);
        events.extend(std::iter::from_fn(|| det.poll_event()));
    }
    let digits = events.iter().map(|e| e.digit).collect();
    let starts = events.iter().map(|e| e.start as usize).collect();
    (digits, starts, audio)
}

/// How long the daemon's rendering of `text` lasts. Under the default
/// `[tts] engine = "auto"` English is the neural voice's (hibari-tts,
/// installed by scripts/install-deps) and the rest espeak-ng's.
fn rendered_secs(dir: &Path, locale: &str, text: &str) -> f64 {
    use orderline::media::tts::{rendering_key, Voice};
    let voice = match locale {
        "en" => Voice::Neural,
        other => Voice::espeak(other).expect("a voice"),
    };
    let key = rendering_key(voice, locale, text);
    let path = dir
        .join("tts-cache")
        .join(locale)
        .join(format!("{key}.wav"));
    let samples = orderline::audio::read_wav_8k(&path)
        .unwrap_or_else(|e| panic!("{text:?} rendered at {}: {e}", path.display()));
    samples.len() as f64 / 8000.0
}

#[test]
fn the_script_plays_in_order_in_english_and_french_nine_repeats_three_queues_a_callback() {
    require("espeak-ng");
    let shop = Shop::start();

    // English: store by default, number digit by digit, two named items,
    // a delivery fee; the callee presses 9 after the menu, then 1.
    let phone = shop.phone("en", &[(7.5, '9'), (13.5, '1')], 16.0);
    let created = shop.post(
        r#"{"id":"E-1","number":"A-1042","phone":"03001234567","amount":"2450","currency":"PKR",
            "delivery_fee":"150","customer":{"kind":"new"},"locale":"en",
            "customer_name":"Ayesha Khan","address":"House 5, Street 9","notes":"ring twice",
            "items":[{"name":"Lawn suit","qty":2},{"name":"Scarf","qty":1}]}"#,
    );
    assert_eq!(created["store"], "Lawn House");
    let done = shop.wait_status("E-1", "confirmed", Duration::from_secs(40));
    assert_eq!(done["attempts"][0]["digits"], "91", "{done}");
    let (digits, starts, _) = heard(&phone);
    let summary = "C1042D21*1#24";
    assert_eq!(
        digits,
        format!("AB{summary}{summary}"),
        "greeting, number, items, total with fee; 9 repeats all but the greeting\n{}",
        shop.daemon.logs()
    );
    // The store's name is real speech between `calling_from` and `about_order_number`.
    let store = rendered_secs(shop.dir.path(), "en", "Lawn House");
    let gap = (starts[2] - starts[1]) as f64 / 8000.0 - 0.14;
    assert!(
        (gap - store).abs() < 0.2,
        "{gap:.2} s between B and C, the rendered store name lasts {store:.2} s"
    );
    rendered_secs(shop.dir.path(), "en", "Lawn suit");
    rendered_secs(shop.dir.path(), "en", "Ayesha Khan");
    // Personal data is stored and returned, never logged (the test logs at debug).
    assert_eq!(done["customer_name"], "Ayesha Khan");
    assert_eq!(done["address"], "House 5, Street 9");
    let logs = shop.daemon.logs();
    assert!(
        !logs.contains("Ayesha") && !logs.contains("Street 9"),
        "{logs}"
    );
    drop(phone);

    // French: the same script, French number grammar (1091 → "mille 91",
    // no digit marker; 2 € fee → "2"), the name rendered with the French voice.
    let phone = shop.phone("fr", &[(6.5, '1')], 9.0);
    shop.post(
        r#"{"id":"F-1","number":"7-05","phone":"03001234567","amount":"1091","currency":"EUR",
            "delivery_fee":"2","customer":{"kind":"new"},"locale":"fr","store":"Maison Lina",
            "items":[{"name":"Robe","qty":3}]}"#,
    );
    shop.wait_status("F-1", "confirmed", Duration::from_secs(40));
    let (digits, _, _) = heard(&phone);
    assert_eq!(digits, "ABC705D3*2#", "{}", shop.daemon.logs());
    rendered_secs(shop.dir.path(), "fr", "Maison Lina");
    rendered_secs(shop.dir.path(), "fr", "Robe");
    drop(phone);

    // Press 3 with nobody ready: hold (A), then "we will call you back" (B);
    // the order is flagged, a callback for anyone due now in the operators'
    // queue, and the merchant gets order.operator.
    let phone = shop.phone("op", &[(5.0, '3')], 20.0);
    shop.post(
        r#"{"id":"O-1","number":"77","phone":"03001234567","amount":"500","currency":"PKR",
            "customer":{"kind":"new"},"locale":"en","items":[{"name":"Scarf","qty":1}]}"#,
    );
    let o = shop.wait_status("O-1", "flagged", Duration::from_secs(40));
    assert_eq!(o["attempts"][0]["result"], "operator", "{o}");
    let t0 = Instant::now();
    let o = loop {
        let o = shop.order("O-1");
        if !o["dialer"].is_null() || t0.elapsed() > Duration::from_secs(10) {
            break o;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        o["dialer"]["mode"],
        "operators",
        "{o}\n{}",
        shop.daemon.logs()
    );
    assert_eq!(o["dialer"]["subqueue"], "callback", "{o}");
    let (st, q) = json(
        shop.http,
        "GET",
        "/v1/dialer/queue?mode=operators&subqueue=callback",
        TOKEN,
        None,
    );
    assert_eq!(st, 200, "{q}");
    assert!(q.to_string().contains("O-1"), "{q}");
    let (digits, _, _) = heard(&phone);
    assert_eq!(digits, "ABC77D15AB", "{}", shop.daemon.logs());
    let t0 = Instant::now();
    while !shop
        .sink
        .received()
        .iter()
        .any(|h| h.body.contains("order.operator") && h.body.contains("O-1"))
    {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "no order.operator webhook"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A name the engine cannot speak fails the order's preparation: the order
/// is kept, flagged with the reason, and never called.
#[test]
fn an_unspeakable_name_flags_the_order_with_the_reason() {
    require("espeak-ng");
    let shop = Shop::start();
    let o = shop.post(
        r#"{"id":"U-1","phone":"03001234567","amount":"10","currency":"PKR",
            "customer":{"kind":"new"},"locale":"en","customer_name":"\ue000\ue001"}"#,
    );
    assert_eq!(o["status"], "flagged", "{o}");
    let why = o["preparation_error"].as_str().expect("a reason");
    assert!(why.starts_with("customer_name:"), "{why}");
    let o = shop.order("U-1");
    assert_eq!(o["attempts"].as_array().map(Vec::len), Some(0), "{o}");
    assert!(
        o["history"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("preparation failed")),
        "{o}"
    );
    // Personal data never reaches an info log line.
    let logs = shop.daemon.logs();
    assert!(!logs.contains('\u{e000}'), "{logs}");
}

/// `[tts] whole_parts` (the default) with the neural voice installed: the
/// English order's script parts are rendered whole when it arrives and the
/// call plays those instead of the parts' prompts — no marker of a part's
/// prompt is heard, the phone hears speech as long as the renderings, and
/// the order is confirmed from the menu as usual.
#[test]
fn the_neural_voice_says_each_english_part_whole() {
    use orderline::ivr::script::{OrderText, Phrases};
    use orderline::media::tts::{rendering_key, Voice};
    // The stock texts beside the (marked) test prompts: parts can be rendered.
    let shop = Shop::start_with(|dir| {
        let texts = Path::new(REPO).join("prompts/en/texts.tsv");
        std::fs::copy(&texts, dir.join("prompts/en/texts.tsv")).expect("texts.tsv");
    });
    let phone = shop.phone("whole", &[(16.0, '1')], 19.0);
    let body = r#"{"id":"W-1","number":"A-4711","phone":"03001234567","amount":"2450","currency":"PKR",
            "delivery_fee":"150","customer":{"kind":"new"},"locale":"en","customer_name":"Ayesha Khan",
            "items":[{"name":"Lawn suit","qty":2},{"name":"Scarf","qty":1}]}"#;
    shop.post(body);
    let done = shop.wait_status("W-1", "confirmed", Duration::from_secs(40));
    assert_eq!(done["attempts"][0]["digits"], "1", "{done}");
    let (digits, _, audio) = heard(&phone);
    assert_eq!(
        digits,
        "",
        "no part was said prompt by prompt\n{}",
        shop.daemon.logs()
    );

    // The parts the daemon rendered, found where the call looked for them.
    let plan = orderline::ivr::ConfirmPlan::load(&Path::new(REPO).join("dialplans/confirm.toml"))
        .expect("dialplan");
    let items = serde_json::json!([{"name":"Lawn suit","qty":2},{"name":"Scarf","qty":1}]);
    let order = OrderText {
        locale: "en",
        number: "A-4711",
        amount: "2450",
        currency: "PKR",
        delivery_fee: Some("150"),
        items: &items,
        store: Some("Lawn House"),
        customer_name: Some("Ayesha Khan"),
        max_items: plan.max_items,
    };
    let phrases = Phrases {
        parts: plan.script.clone(),
        texts: orderline::media::prompt::read_texts(&shop.dir.path().join("prompts"), "en"),
    };
    let parts = phrases.texts(&order);
    assert_eq!(parts.len(), 4, "{parts:?}");
    let mut secs = 0.0;
    for (part, text) in &parts {
        let key = rendering_key(Voice::Neural, "en", text);
        let path = shop
            .dir
            .path()
            .join("tts-cache/en")
            .join(format!("{key}.wav"));
        let s = orderline::audio::read_wav_8k(&path)
            .unwrap_or_else(|e| panic!("part {part} rendered whole at {}: {e}", path.display()));
        secs += s.len() as f64 / 8000.0;
    }
    // The phone heard about that much speech before the menu.
    let loud = audio
        .chunks(160)
        .filter(|c| c.iter().map(|x| x.unsigned_abs() as u64).sum::<u64>() / 160 > 300)
        .count() as f64
        * 0.02;
    assert!(
        loud > secs * 0.6,
        "{loud:.1} s of speech heard, the parts last {secs:.1} s\n{}",
        shop.daemon.logs()
    );
}
