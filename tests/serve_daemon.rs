//! `orderline serve` as a running daemon: the 49 RFC 4475 torture messages
//! each get the answer the RFC expects (or none, where it says discard), the
//! daemon keeps serving calls afterwards, customers calling in are answered,
//! and SIGTERM drains live calls with a BYE before exiting.

#[macro_use]
mod support;

use std::collections::HashMap;
use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

const TORTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/rfc4475");

/// What RFC 4475 allows a UAS to do with each message (from MANIFEST.tsv).
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Exactly this status.
    Code(u16),
    /// One of these statuses.
    OneOf(&'static [u16]),
    /// Processed: any answer except 400 (or none, for ACK-like cases).
    Processed,
    /// 400 or silence.
    RejectOrDiscard,
    /// Nothing at all (invalid or stray responses).
    Silence,
    /// Anything but a crash and anything but 2xx.
    NoCrash,
}

fn expectations() -> HashMap<&'static str, Expect> {
    use Expect::*;
    HashMap::from([
        ("wsinv.dat", Processed),
        ("intmeth.dat", OneOf(&[405, 501])),
        ("esc01.dat", Processed),
        ("escnull.dat", Processed),
        ("esc02.dat", Processed),
        ("lwsdisp.dat", Processed),
        ("longreq.dat", Processed),
        ("dblreq.dat", Processed),
        ("semiuri.dat", Processed),
        ("transports.dat", Processed),
        ("mpart01.dat", Processed),
        ("unreason.dat", Silence),
        ("noreason.dat", Silence),
        ("badinv01.dat", RejectOrDiscard),
        ("clerr.dat", RejectOrDiscard),
        ("ncl.dat", Code(400)),
        ("scalar02.dat", Code(400)),
        ("scalarlg.dat", Silence),
        ("quotbal.dat", Code(400)),
        ("ltgtruri.dat", Code(400)),
        ("lwsruri.dat", Code(400)),
        ("lwsstart.dat", Code(400)),
        ("trws.dat", Code(400)),
        ("escruri.dat", NoCrash),
        ("baddate.dat", NoCrash),
        ("regbadct.dat", Code(400)),
        ("badaspec.dat", Code(400)),
        ("baddn.dat", Code(400)),
        ("badvers.dat", Code(505)),
        ("mismatch01.dat", Code(400)),
        ("mismatch02.dat", Code(400)),
        ("bigcode.dat", Silence),
        ("badbranch.dat", Processed),
        ("insuf.dat", Code(400)),
        ("unkscm.dat", Code(416)),
        ("novelsc.dat", NoCrash),
        ("unksm2.dat", Processed),
        ("bext01.dat", Code(420)),
        ("invut.dat", Code(415)),
        ("regaut01.dat", NoCrash),
        ("multi01.dat", Code(400)),
        ("mcl01.dat", Code(400)),
        ("bcast.dat", Silence),
        ("zeromf.dat", Processed),
        ("cparam01.dat", Processed),
        ("cparam02.dat", Processed),
        ("regescrt.dat", Processed),
        ("sdp01.dat", Processed),
        ("inv2543.dat", NoCrash),
    ])
}

/// Send one file; gather every datagram that comes back within a short window.
fn exchange(sock: &UdpSocket, port: u16, bytes: &[u8]) -> Vec<String> {
    sock.send_to(bytes, ("127.0.0.1", port))
        .expect("send torture message");
    let mut replies = Vec::new();
    let mut buf = vec![0u8; 65536];
    let deadline = Instant::now() + Duration::from_millis(400);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("timeout");
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => replies.push(String::from_utf8_lossy(&buf[..n]).to_string()),
            Err(_) => break,
        }
    }
    replies
}

/// The Call-ID (or compact `i`) header value of a message, if any.
fn call_id(msg: &str) -> Option<String> {
    msg.split("\r\n\r\n").next()?.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        (name == "call-id" || name == "i").then(|| value.trim().to_string())
    })
}

/// RFC 3261 §17.2.3 server-transaction key of a request: (branch, sent-by, method).
fn transaction_key(msg: &str) -> Option<(String, String, String)> {
    let head = msg.split("\r\n\r\n").next()?;
    let method = head.split(' ').next()?.to_string();
    let via = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        (name == "via" || name == "v").then(|| value.trim().to_string())
    })?;
    let first = via.split(',').next()?;
    let sent_by = first
        .split(';')
        .next()?
        .split_whitespace()
        .nth(1)?
        .to_string();
    let branch = first
        .split(';')
        .find_map(|p| p.trim().strip_prefix("branch=").map(str::to_string))?;
    Some((branch, sent_by, method))
}

fn status_of(reply: &str) -> Option<u16> {
    let line = reply.lines().next()?;
    let mut parts = line.split(' ');
    (parts.next()? == "SIP/2.0").then_some(())?;
    parts.next()?.parse().ok()
}

#[test]
fn rfc4475_torture_messages_get_the_rfc_answers_and_the_daemon_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start_with(dir.path(), free_udp_port(), "", |_| {});
    let manifest = std::fs::read_to_string(Path::new(TORTURE).join("MANIFEST.tsv"))
        .expect("shared/testdata/rfc4475/MANIFEST.tsv");
    let expect = expectations();
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut failures = Vec::new();
    let mut count = 0;
    // Final responses to earlier INVITEs are retransmitted (Timer G) since this
    // test never ACKs: replies are matched to their request by Call-ID.
    let mut earlier_ids = std::collections::HashSet::new();
    // Two files may share a transaction key (cparam01/02: same branch, sent-by and
    // method), which makes the second a retransmission of the first. The files are
    // meant to be independent, so wait out the first transaction (Timer J = 64·T1,
    // T1 = 100 ms in the test config) before sending the second.
    let mut keys: HashMap<(String, String, String), Instant> = HashMap::new();
    let timer_j = Duration::from_millis(64 * 100 + 300);
    for line in manifest.lines().skip(1) {
        let file = line.split('\t').next().expect("manifest file column");
        let rule = *expect
            .get(file)
            .unwrap_or_else(|| panic!("no expectation for {file}"));
        let bytes = std::fs::read(Path::new(TORTURE).join(file)).expect("read torture file");
        let text = String::from_utf8_lossy(&bytes).to_string();
        if let Some(key) = transaction_key(&text) {
            if let Some(sent) = keys.get(&key) {
                std::thread::sleep((*sent + timer_j).saturating_duration_since(Instant::now()));
            }
            keys.insert(key, Instant::now());
        }
        let id = call_id(&text);
        let replies: Vec<String> = exchange(&sock, daemon.port, &bytes)
            .into_iter()
            .filter(|r| {
                let rid = call_id(r);
                rid == id || rid.as_ref().is_none_or(|r| !earlier_ids.contains(r))
            })
            .collect();
        if let Some(id) = id {
            earlier_ids.insert(id);
        }
        count += 1;
        let finals: Vec<u16> = replies
            .iter()
            .filter_map(|r| status_of(r))
            .filter(|s| *s >= 200)
            .collect();
        let last = finals.last().copied();
        let ok = match rule {
            Expect::Code(c) => last == Some(c),
            Expect::OneOf(cs) => last.is_some_and(|s| cs.contains(&s)),
            Expect::Processed => last != Some(400) && !replies.is_empty(),
            Expect::RejectOrDiscard => last.is_none_or(|s| s == 400),
            Expect::Silence => replies.is_empty(),
            Expect::NoCrash => last.is_none_or(|s| s >= 300),
        };
        // Extra headers the RFC asks for with some rejections.
        let header_ok = match file {
            "bext01.dat" => replies
                .iter()
                .any(|r| r.to_ascii_lowercase().contains("\nunsupported:")),
            "invut.dat" => replies
                .iter()
                .any(|r| r.to_ascii_lowercase().contains("\naccept:")),
            "intmeth.dat" => {
                last != Some(405)
                    || replies
                        .iter()
                        .any(|r| r.to_ascii_lowercase().contains("\nallow:"))
            }
            _ => true,
        };
        eprintln!("{file:15} expect {rule:?}: got {finals:?}");
        if !ok || !header_ok {
            failures.push(format!(
                "{file}: expected {rule:?}, got {:?}",
                replies
                    .iter()
                    .map(|r| r.lines().next().unwrap_or(""))
                    .collect::<Vec<_>>()
            ));
        }
        // The daemon still answers after every single message.
        assert!(
            options_ping(daemon.port).is_some(),
            "daemon stopped answering after {file}:\n{}",
            daemon.logs()
        );
    }
    assert_eq!(count, 49, "manifest should list 49 messages");
    assert!(
        failures.is_empty(),
        "{} of 49 torture messages mishandled:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // And it still takes a real call: a customer calling in hears the message and gets a BYE.
    let sc = Path::new(SCENARIOS).join("uac_callback.xml");
    let sipp = Sipp::start(&sc, dir.path(), &[&format!("127.0.0.1:{}", daemon.port)]);
    let (ok, errors) = sipp.finish(Duration::from_secs(20));
    assert!(
        ok,
        "call after the torture run failed: {errors}\n{}",
        daemon.logs()
    );
}

#[test]
fn sigterm_sends_bye_to_live_calls_and_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A 20 s callback message, so only the drain can end the call in time.
    let mut daemon = Daemon::start_with(dir.path(), free_udp_port(), "", |d| {
        write_wav(
            &d.join("prompts/en/callback_no_order.wav"),
            &vec![0; 8000 * 20],
        );
    });

    let sc = Path::new(SCENARIOS).join("uac_callback.xml");
    let sipp = Sipp::start(&sc, dir.path(), &[&format!("127.0.0.1:{}", daemon.port)]);
    std::thread::sleep(Duration::from_millis(1500));
    let t0 = Instant::now();
    let pid = daemon.child.id().to_string();
    let st = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(st.success());
    let (ok, errors) = sipp.finish(Duration::from_secs(10));
    assert!(
        ok,
        "live call did not get a BYE on SIGTERM: {errors}\n{}",
        daemon.logs()
    );
    let bye_after = t0.elapsed();
    assert!(bye_after < Duration::from_secs(3), "BYE took {bye_after:?}");
    let status = loop {
        if let Some(s) = daemon.child.try_wait().expect("wait daemon") {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "daemon still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "daemon exit status {status:?}\n{}",
        daemon.logs()
    );
}
