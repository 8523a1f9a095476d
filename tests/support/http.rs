//! A minimal HTTP/1.1 client and a webhook receiver over std sockets, so the
//! end-to-end tests talk to the daemon as a merchant's systems would, with no
//! code shared with the daemon's own HTTP stack.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request; returns (status, body).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    request_with(addr, method, path, token, &[], body)
}

/// [`request`] with more headers (`Idempotency-Key`, …).
pub fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the API");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = body.unwrap_or("");
    let mut auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    for (name, value) in headers {
        auth.push_str(&format!("{name}: {value}\r\n"));
    }
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        status,
        if chunked {
            dechunk(rest)
        } else {
            rest.to_string()
        },
    )
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(len.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let (status, text) = request(addr, method, path, Some(token), body);
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, v)
}

/// One webhook POST as received.
#[derive(Debug, Clone)]
pub struct Hook {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Hook {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }
}

/// A merchant's webhook endpoint on 127.0.0.1 that answers 200 and keeps what it got.
pub struct WebhookSink {
    pub addr: SocketAddr,
    pub hooks: Arc<Mutex<Vec<Hook>>>,
}

impl WebhookSink {
    pub fn start() -> WebhookSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind webhook sink");
        let addr = listener.local_addr().expect("addr");
        let hooks = Arc::new(Mutex::new(Vec::new()));
        let store = hooks.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let store = store.clone();
                std::thread::spawn(move || serve_one(conn, &store));
            }
        });
        WebhookSink { addr, hooks }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    pub fn received(&self) -> Vec<Hook> {
        self.hooks.lock().expect("sink lock").clone()
    }
}

fn serve_one(conn: TcpStream, store: &Mutex<Vec<Hook>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                if n.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        store.lock().expect("sink lock").push(Hook {
            headers,
            body: String::from_utf8_lossy(&body).to_string(),
        });
        if conn
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// One Server-Sent Event: (event name, data).
pub type SseEvent = (String, String);

/// Read a Server-Sent Events stream (`GET path`) until an event named `until`
/// arrives, the server closes it, or `limit` passes. Returns the status, the
/// events in order (comments such as `: keep-alive` skipped) and the raw bytes
/// as received (for the card-data search).
pub fn sse(
    addr: SocketAddr,
    path: &str,
    token: &str,
    until: &str,
    limit: Duration,
) -> (u16, Vec<SseEvent>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect to the API");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Accept: text/event-stream\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("send request");
    let t0 = std::time::Instant::now();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
        let (_, events) = parse_sse(&raw);
        if events.iter().any(|(e, _)| e == until) || t0.elapsed() > limit {
            break;
        }
    }
    let (status, events) = parse_sse(&raw);
    (status, events, raw)
}

/// Status and complete events of a (possibly chunked, possibly partial) SSE response.
pub fn parse_sse(raw: &[u8]) -> (u16, Vec<SseEvent>) {
    let text = String::from_utf8_lossy(raw).to_string();
    let Some((head, rest)) = text.split_once("\r\n\r\n") else {
        return (0, Vec::new());
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    let body = body.replace("\r\n", "\n");
    let mut events = Vec::new();
    // Only blocks ended by a blank line are complete.
    let complete = match body.rfind("\n\n") {
        Some(i) => &body[..i],
        None => return (status, events),
    };
    for block in complete.split("\n\n") {
        let mut name = String::from("message");
        let mut data: Vec<&str> = Vec::new();
        let mut any = false;
        for line in block.lines() {
            if line.starts_with(':') || line.is_empty() {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => {
                    name = value.to_string();
                    any = true;
                }
                "data" => {
                    data.push(value);
                    any = true;
                }
                _ => {}
            }
        }
        if any {
            events.push((name, data.join("\n")));
        }
    }
    (status, events)
}

/// Poll `GET /v1/orders/{id}` until its status is one of `want`; panics
/// after `limit` with the order and `logs()` (the daemon's log).
/// One unlabelled sample of `/metrics` (served without a token).
pub fn metric(http: SocketAddr, name: &str) -> f64 {
    let (st, text) = request(http, "GET", "/metrics", None, None);
    assert_eq!(st, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

pub fn wait_order_status(
    addr: SocketAddr,
    token: &str,
    id: &str,
    want: &[&str],
    limit: std::time::Duration,
    logs: impl Fn() -> String,
) -> serde_json::Value {
    let t0 = std::time::Instant::now();
    loop {
        let (st, v) = json(addr, "GET", &format!("/v1/orders/{id}"), token, None);
        assert_eq!(st, 200, "get {id}: {v}");
        if want.iter().any(|w| v["status"] == *w) {
            return v;
        }
        assert!(
            t0.elapsed() < limit,
            "order {id} still {} after {limit:?}: {v}\n{}",
            v["status"],
            logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
