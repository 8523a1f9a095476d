//! The agent page (`GET /agent`) in a real browser: headless Chromium (driven
//! over the DevTools protocol, `tests/support/browser.rs`) opens the page,
//! enters the agent's token, picks the bridged call, fills item and amount,
//! clicks request, and watches each step tick to completed (✓) and the result
//! show `succeeded` while the customer (SIPp) keys an approving card in-band.
//!
//! The page is found the way a person would find it: fields by their label,
//! placeholder, name or id (`token`, `item`/`product`, `amount`, `currency`),
//! buttons by their text (`request`/`take payment`…), the call by its id or
//! number, steps by their names (`amount`, `card number`, `expiry`, `CVC`,
//! `postal`). A `data-test` attribute with those words wins over everything
//! else, and `data-step="<step>"` with `data-status="completed"` (or a ✓) marks
//! a step done. The page's HTML is searched for card data too.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::agent_phone::*;
use support::browser::Browser;
use support::card_data::Secrets;
use support::keypad::*;
use support::payment_rig::*;

const VISA: &str = "4242424242424242";

/// In the page: for each step, whether an element naming it shows it done;
/// and the page's text.
const STEP_STATE: &str = r#"(() => {
  const labels = { amount: /amount/i, card_number: /card/i, expiry: /expir/i, cvc: /cvc|cvv|security code/i, postal_code: /postal|zip/i };
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const els = [...document.querySelectorAll('[data-step], li, tr, td, div, span, p, label')].filter(visible);
  const done = {};
  for (const [step, re] of Object.entries(labels)) {
    done[step] = els.some(el => {
      const text = (el.innerText || '').trim();
      const named = el.dataset.step === step || (text.length < 80 && re.test(text));
      const marks = /[✓✔]/.test(text) || /\bcompleted\b|\bdone\b/i.test((el.dataset.status || '') + ' ' + el.className);
      return named && marks;
    });
  }
  return { done, text: document.body.innerText };
})()"#;

#[test]
fn agent_page_requests_a_payment_and_watches_the_steps_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A longer pause before the first key: the page must submit first.
    let script = KeyScript::card(9.0, VISA, "0831", "046", "02857");
    let sipp = customer_inband(dir.path(), &script);
    let layout = script.layout();
    let talk = layout.total + 3.0;
    let agent = agent_phone(dir.path(), talk, 20);
    let mut rig = Rig::start(dir, agent, sipp.port, "");

    // The browser is up before the call, so the agent is ready when it connects.
    let mut b = Browser::launch();
    let page = format!("http://{}/agent", rig.http);
    let sign_in = |b: &mut Browser| {
        b.navigate(&page);
        b.fill(&["token"], AGENT_TOKEN)
            .unwrap_or_else(|| panic!("no token field on /agent:\n{}", b.text()));
        if b.click(&[
            "sign ?in",
            "log ?in",
            "connect",
            "^save",
            "^ok$",
            "continue",
            "use token",
            "^go$",
        ])
        .is_none()
        {
            b.press_enter();
        }
    };
    sign_in(&mut b);

    let call_id = rig.dial(CUSTOMER);
    rig.wait_call(&call_id, &["bridged"], Duration::from_secs(20));

    // Pick the call (the page may list calls on a timer, on a refresh button, or on load).
    let t0 = Instant::now();
    let picked = loop {
        if let Some(p) = b.pick(&call_id).or_else(|| b.pick(CUSTOMER)) {
            break p;
        }
        if t0.elapsed() > Duration::from_secs(6) {
            panic!(
                "the agent page never showed call {call_id} ({CUSTOMER}):\n{}\nconsole:\n{}",
                b.text(),
                b.console.join("\n")
            );
        }
        if b.click(&["refresh", "reload"]).is_none() && t0.elapsed() > Duration::from_secs(2) {
            sign_in(&mut b);
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    eprintln!("picked {picked}");
    b.fill(&["item", "product"], ITEM)
        .unwrap_or_else(|| panic!("no item field:\n{}", b.text()));
    b.fill(&["amount"], AMOUNT)
        .unwrap_or_else(|| panic!("no amount field:\n{}", b.text()));
    let _ = b.fill(&["currency"], CURRENCY);
    let clicked = b
        .click(&["request", "take payment", "start payment", "charge", "^pay"])
        .unwrap_or_else(|| panic!("no request button:\n{}", b.text()));
    eprintln!(
        "clicked {clicked} {:.1} s after the call was bridged",
        t0.elapsed().as_secs_f64()
    );

    // The page's request reached the API: the call has a payment.
    let t1 = Instant::now();
    let pid = loop {
        let call = rig.call(&call_id);
        if let Some(p) = call["payments"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_str)
        {
            break p.to_string();
        }
        assert!(
            t1.elapsed() < Duration::from_secs(5),
            "the page did not create a payment on {call_id}: {call}\npage:\n{}\nconsole:\n{}",
            b.text(),
            b.console.join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    // Watch the steps tick, in order, and the result.
    let mut ticked: Vec<(String, f64)> = Vec::new();
    let t2 = Instant::now();
    let limit = Duration::from_secs_f64(layout.total + 20.0);
    loop {
        let v = b.eval(STEP_STATE);
        for step in STEPS {
            if v["done"][step] == true && !ticked.iter().any(|(s, _)| s == step) {
                ticked.push((step.to_string(), t2.elapsed().as_secs_f64()));
            }
        }
        let text = v["text"].as_str().unwrap_or_default().to_lowercase();
        if ticked.len() == STEPS.len() && text.contains("succeeded") {
            break;
        }
        assert!(
            t2.elapsed() < limit,
            "after {limit:?} the page shows steps done {ticked:?}, result {}:\n{}\nconsole:\n{}\n{}",
            if text.contains("succeeded") { "succeeded" } else { "not succeeded" },
            v["text"].as_str().unwrap_or_default(),
            b.console.join("\n"),
            rig.tail_logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let order: Vec<&str> = ticked.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(order, STEPS, "steps ticked out of order: {ticked:?}");
    // They ticked as the caller keyed, not all at once at the end.
    let spread = ticked.last().expect("steps").1 - ticked[0].1;
    assert!(
        spread > 3.0,
        "all steps ticked within {spread:.1} s: {ticked:?}"
    );
    eprintln!("steps ticked at {ticked:?}");

    // The API agrees.
    let payment = rig.wait_payment_end(&pid, Duration::from_secs(10));
    assert_eq!(payment["status"], "succeeded", "{payment}");
    assert_eq!(payment["item"], ITEM, "{payment}");
    assert_eq!(payment["amount"], AMOUNT, "{payment}");
    let hook = rig.wait_hook("payment.completed", &pid, Duration::from_secs(20));
    assert_signed(&hook);

    // The page never held card data.
    let html = b
        .eval("document.documentElement.outerHTML")
        .as_str()
        .unwrap_or_default()
        .to_string();
    let page_sources = vec![
        ("agent page HTML".to_string(), html.into_bytes()),
        (
            "agent page console".to_string(),
            b.console.join("\n").into_bytes(),
        ),
    ];
    drop(b);

    let call = rig.wait_call(&call_id, &["ended"], Duration::from_secs_f64(talk + 20.0));
    let (ok, errors) = sipp.finish(Duration::from_secs(15));
    assert!(ok, "the customer (SIPp) saw a broken call: {errors}");
    std::thread::sleep(Duration::from_millis(300));
    rig.assert_agent_heard_no_dtmf();
    rig.assert_back_with_agent(&call, &payment, true);
    rig.assert_no_card_data(&Secrets::card(VISA, "0831", "046", "02857"), &page_sources);
}
