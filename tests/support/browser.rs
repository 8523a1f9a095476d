//! Headless Chromium driven over the Chrome DevTools Protocol (CDP): JSON
//! commands over one WebSocket (`tungstenite`, blocking, on std sockets).
//!
//! Debian's `/usr/bin/chromium` is started with its own throw-away profile,
//! `--remote-debugging-port=0` (the port it picked is read from
//! `<profile>/DevToolsActivePort`) and every background service off; host
//! names resolve to nothing except 127.0.0.1, so the browser cannot reach
//! anything but the test's own servers. One page target is created and
//! attached with a flat session; [`Browser::eval`] runs JavaScript in it and
//! returns the value as JSON.
#![allow(dead_code)]

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

pub const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    profile: tempfile::TempDir,
    /// Console messages and uncaught exceptions of the page, for failure reports.
    pub console: Vec<String>,
}

impl Browser {
    /// Start Chromium and open one blank page.
    pub fn launch() -> Browser {
        assert!(
            std::path::Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is required by this test; run `bash scripts/install-deps` (Debian package chromium)"
        );
        let profile = tempfile::Builder::new()
            .prefix("chromium")
            .tempdir()
            .expect("profile dir");
        let log = std::fs::File::create(profile.path().join("chromium.log")).expect("chromium log");
        let child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--disable-breakpad",
                "--disable-domain-reliability",
                "--disable-client-side-phishing-detection",
                "--no-pings",
                "--metrics-recording-only",
                "--safebrowsing-disable-auto-update",
                "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
                // Nothing but loopback: every host name fails to resolve.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            // Its own process group, so Drop ends the renderers with it.
            .process_group(0)
            .spawn()
            .expect("start chromium");
        let port_file = profile.path().join("DevToolsActivePort");
        let t0 = Instant::now();
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(p), Some(path)) = (lines.next(), lines.next()) {
                    if let Ok(p) = p.trim().parse::<u16>() {
                        break (p, path.trim().to_string());
                    }
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "chromium wrote no DevToolsActivePort within 30 s:\n{}",
                std::fs::read_to_string(profile.path().join("chromium.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to DevTools");
        // The upgrade may take seconds on a loaded machine; a short read
        // timeout here made the handshake fail as "interrupted" under the
        // full suite. Generous for the handshake, then the message loop's.
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (ws, _) =
            tungstenite::client(url.as_str(), stream).expect("DevTools WebSocket handshake");
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        let mut b = Browser {
            child,
            ws,
            session: String::new(),
            next_id: 1,
            profile,
            console: Vec::new(),
        };
        let target = b.call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("targetId").to_string();
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        b.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_string();
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        b
    }

    pub fn log_path(&self) -> PathBuf {
        self.profile.path().join("chromium.log")
    }

    /// One CDP command; returns its `result` (panics on a protocol error).
    /// Events that arrive meanwhile are read and kept only as console lines.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("send CDP command");
        let t0 = Instant::now();
        loop {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "no answer to CDP {method} within 30 s"
            );
            let m = match self.ws.read() {
                Ok(m) => m,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => panic!("DevTools connection failed during {method}: {e}"),
            };
            let Message::Text(text) = m else { continue };
            let v: Value = serde_json::from_str(text.as_str()).expect("CDP sends JSON");
            if v["id"] == json!(id) {
                if let Some(err) = v.get("error") {
                    panic!("CDP {method} failed: {err}");
                }
                return v["result"].clone();
            }
            self.note_event(&v);
        }
    }

    fn note_event(&mut self, v: &Value) {
        match v["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let args: Vec<String> = v["params"]["args"]
                    .as_array()
                    .map(|a| a.iter().map(|x| x["value"].to_string()).collect())
                    .unwrap_or_default();
                self.console.push(format!(
                    "console.{}: {}",
                    v["params"]["type"].as_str().unwrap_or("?"),
                    args.join(" ")
                ));
            }
            Some("Runtime.exceptionThrown") => {
                self.console
                    .push(format!("exception: {}", v["params"]["exceptionDetails"]));
            }
            _ => {}
        }
    }

    /// Open `url` and wait until the document has loaded.
    pub fn navigate(&mut self, url: &str) {
        let r = self.call("Page.navigate", json!({"url": url}));
        if let Some(e) = r.get("errorText") {
            panic!("navigating to {url} failed: {e}");
        }
        self.wait_for(
            "document.readyState === 'complete' && location.href !== 'about:blank'",
            Duration::from_secs(15),
            "page load",
        );
    }

    /// Evaluate `js` in the page (promises awaited) and return its value.
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("page script threw: {ex}\nscript: {js}");
        }
        r["result"]["value"].clone()
    }

    /// Poll `js` until it returns something truthy (not false/null/0/""); returns it.
    pub fn wait_for(&mut self, js: &str, limit: Duration, what: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let v = self.eval(js);
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if t0.elapsed() > limit {
                let body = self.eval("document.body ? document.body.outerHTML.slice(0, 6000) : ''");
                panic!(
                    "waited {limit:?} for {what} ({js})\npage:\n{}\nconsole:\n{}",
                    body.as_str().unwrap_or_default(),
                    self.console.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The page's visible text.
    pub fn text(&mut self) -> String {
        self.eval("document.body ? document.body.innerText : ''")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Install the form helpers below into the page (idempotent).
    fn helpers(&mut self) {
        self.eval(HELPERS);
    }

    /// Fill the first visible field (input, textarea or select) whose
    /// `data-test`, id, name, placeholder, aria-label or label text matches
    /// one of `hints` (case-insensitive regular expressions), as a user typing
    /// would (input and change events). Returns a description of the field;
    /// `None` if there is none.
    pub fn fill(&mut self, hints: &[&str], value: &str) -> Option<String> {
        self.helpers();
        let v = self.eval(&format!(
            "window.__ol.fill({}, {})",
            json!(hints),
            json!(value)
        ));
        v.as_str().map(str::to_string)
    }

    /// Click the first visible button-like element (button, input
    /// submit/button, link, `[role=button]`, `[data-test]`) whose text, value,
    /// aria-label, id or data-test matches one of `hints`. Returns what it clicked.
    pub fn click(&mut self, hints: &[&str]) -> Option<String> {
        self.helpers();
        let v = self.eval(&format!("window.__ol.click({})", json!(hints)));
        v.as_str().map(str::to_string)
    }

    /// Pick `needle` (e.g. a call id or phone number): select the `<option>`
    /// holding it, or click the smallest clickable element whose text holds it.
    pub fn pick(&mut self, needle: &str) -> Option<String> {
        self.helpers();
        let v = self.eval(&format!("window.__ol.pick({})", json!(needle)));
        v.as_str().map(str::to_string)
    }

    /// Press Enter in the focused element (submits a one-field form).
    pub fn press_enter(&mut self) {
        for t in ["keyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": t, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": if t == "keyDown" { "\r" } else { "" }}),
            );
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.ws.close(None);
        // The whole group we started (browser, zygote, renderers), by its id.
        let pgid = self.child.id() as i32;
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Page-side helpers for [`Browser::fill`], [`Browser::click`], [`Browser::pick`].
const HELPERS: &str = r#"
window.__ol = window.__ol || (() => {
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
    && getComputedStyle(el).visibility !== 'hidden';
  const labelOf = (el) => {
    let t = '';
    if (el.id) { const l = document.querySelector(`label[for="${CSS.escape(el.id)}"]`); if (l) t += ' ' + l.innerText; }
    const wrap = el.closest('label'); if (wrap) t += ' ' + wrap.innerText;
    return t;
  };
  const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.name ? '[name=' + el.name + ']' : ''}${el.dataset && el.dataset.test ? '[data-test=' + el.dataset.test + ']' : ''} "${(el.innerText || el.value || el.placeholder || '').slice(0, 40)}"`;
  const matches = (hints, texts) => hints.some(h => { const re = new RegExp(h, 'i'); return texts.some(t => t && re.test(t)); });
  const setValue = (el, value) => {
    el.focus();
    if (el.tagName === 'SELECT') {
      const opt = [...el.options].find(o => o.value === value || o.text.trim() === value);
      if (opt) el.value = opt.value;
    } else {
      const proto = el.tagName === 'TEXTAREA' ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
      Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, value);
    }
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  };
  return {
    fill(hints, value) {
      const fields = [...document.querySelectorAll('input, textarea, select')]
        .filter(el => visible(el) && !['button', 'submit', 'checkbox', 'radio', 'hidden'].includes(el.type));
      // data-test first, then the other names.
      const byTest = fields.find(el => matches(hints, [el.dataset.test]));
      const el = byTest || fields.find(el => matches(hints, [el.id, el.name, el.placeholder, el.getAttribute('aria-label'), labelOf(el)]));
      if (!el) return null;
      setValue(el, value);
      return describe(el);
    },
    click(hints) {
      const els = [...document.querySelectorAll('button, input[type=submit], input[type=button], a, [role=button], [data-test]')]
        .filter(el => visible(el) && !el.disabled);
      const byTest = els.find(el => matches(hints, [el.dataset.test]));
      const el = byTest || els.find(el => matches(hints, [el.innerText, el.value, el.getAttribute('aria-label'), el.id, el.title]));
      if (!el) return null;
      el.click();
      return describe(el);
    },
    pick(needle) {
      for (const sel of document.querySelectorAll('select')) {
        const opt = [...sel.options].find(o => o.value.includes(needle) || o.text.includes(needle));
        if (opt && visible(sel)) { setValue(sel, opt.value); return describe(sel) + ' → ' + opt.value; }
      }
      const cands = [...document.querySelectorAll('button, a, [role=button], [data-test], li, tr, label, input[type=radio], div, span')]
        .filter(el => visible(el) && ((el.innerText || '').includes(needle) || (el.value || '').includes(needle)
                      || Object.values(el.dataset || {}).some(v => String(v).includes(needle))));
      if (!cands.length) return null;
      // The innermost element that holds it; prefer something clickable inside its row.
      cands.sort((a, b) => (a.innerText || '').length - (b.innerText || '').length);
      let el = cands[0];
      const row = el.closest('li, tr, [data-test], label') || el;
      const inner = row.querySelector('button, a, [role=button], input[type=radio]');
      (inner || el).click();
      return describe(inner || el);
    },
  };
})();
true
"#;
