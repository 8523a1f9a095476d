//! Everything the integration tests share (one module, issue #9): a running
//! API over a real store ([`api`], [`store`], [`dialer`]), and for the real-peer tests free loopback ports, SIPp runs,
//! in-band key audio made independently of our own tone generator (plain sine
//! sums, G.711-encoded by sox), short test prompts, and running the
//! `orderline` binary as a user would.
#![allow(dead_code)]

// First: its `on_both_backends!` is used by the modules and tests below.
#[macro_use]
#[allow(unused_macros)]
pub mod store;

pub mod agent_phone;
pub mod api;
pub mod audio_check;
pub mod browser;
pub mod capture;
pub mod card_data;
pub mod contract;
pub mod dialer;
pub mod dtmf_harness;
pub mod flood;
pub mod http;
pub mod kamailio;
pub mod keypad;
pub mod payment_rig;
pub mod peers;
pub mod predictive;
pub mod registering;
pub mod rfc4475;
pub mod rtp_phone;
pub mod session_rig;
pub mod sipp_captures;
pub mod test_pki;
pub mod tls_rig;

pub use peers::{free_tcp_port, free_udp_block, free_udp_port};
use std::f64::consts::PI;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios");
pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Fail loudly (never skip) when a peer the test needs is missing.
pub fn require(bin: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {bin}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{bin}` is required by this test and is not installed; run `bash scripts/install-deps`"
    );
}

/// DTMF row/column frequencies (ITU-T Q.23).
pub fn dtmf_freqs(d: char) -> (f64, f64) {
    let rows = [697.0, 770.0, 852.0, 941.0];
    let cols = [1209.0, 1336.0, 1477.0, 1633.0];
    let keys = ["123A", "456B", "789C", "*0#D"];
    for (r, row) in keys.iter().enumerate() {
        if let Some(c) = row.find(d) {
            return (rows[r], cols[c]);
        }
    }
    panic!("not a DTMF key: {d}");
}

/// Audio with key presses at given offsets: `(seconds_from_start, key, seconds_long)`,
/// each tone at about -10 dBm0 per frequency, silence elsewhere.
pub fn keypress_audio(presses: &[(f64, char, f64)], total_secs: f64) -> Vec<i16> {
    let n = (total_secs * 8000.0) as usize;
    let mut x = vec![0i16; n];
    let amp = 0.316 * 0.707 * 32767.0 * 0.7; // ≈ -10 dBm0 per tone
    for &(at, key, len) in presses {
        let (lo, hi) = dtmf_freqs(key);
        let start = (at * 8000.0) as usize;
        let end = ((at + len) * 8000.0) as usize;
        for (i, s) in x.iter_mut().enumerate().take(end.min(n)).skip(start) {
            let t = (i - start) as f64 / 8000.0;
            *s = (amp * ((2.0 * PI * lo * t).sin() + (2.0 * PI * hi * t).sin())) as i16;
        }
    }
    x
}

pub fn write_wav(path: &Path, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in samples {
        w.write_sample(s).expect("write sample");
    }
    w.finalize().expect("finalize wav");
}

/// G.711-encode a WAV with sox (`-t ul` µ-law or `-t al` A-law): an encoder
/// that is not ours, so a test cannot pass on a shared bug.
pub fn sox_g711(wav: &Path, out: &Path, law: &str) {
    require("sox");
    let st = Command::new("sox")
        .arg(wav)
        .args(["-t", law])
        .arg(out)
        .status()
        .expect("run sox");
    assert!(st.success(), "sox failed to encode {}", wav.display());
}

/// Prompts for tests: short distinct tones so calls take seconds, not minutes.
/// Same names as the shipped `prompts/en` (numbers, currencies), each 100 ms;
/// the flow prompts 300 ms each at distinct pitches. Intro ≈ 1.5 s.
pub fn test_prompts(dir: &Path) -> PathBuf {
    let root = dir.join("prompts");
    let en = root.join("en");
    std::fs::create_dir_all(&en).expect("mkdir prompts");
    let shipped = Path::new(REPO).join("prompts/en");
    // Every shipped name (numbers, currencies) as a 100 ms tone.
    let word: Vec<i16> = (0..800)
        .map(|i| (4000.0 * (2.0 * PI * 400.0 * i as f64 / 8000.0).sin()) as i16)
        .collect();
    // (Not texts.tsv: without it the script is said prompt by prompt.)
    for entry in std::fs::read_dir(&shipped).expect("shipped prompts/en exists") {
        let entry = entry.expect("dir entry");
        if entry.path().extension().is_some_and(|e| e == "wav") {
            write_wav(&en.join(entry.file_name()), &word);
        }
    }
    let short = [
        ("greeting", 500.0),
        ("order_total", 600.0),
        ("press_1_confirm_2_cancel", 700.0),
        ("invalid_key", 800.0),
        ("no_input", 900.0),
        ("confirmed_thanks", 1000.0),
        ("cancelled_thanks", 1100.0),
        ("goodbye", 1200.0),
        ("callback_no_order", 1300.0),
    ];
    for (name, freq) in short {
        let n = 8000 * 3 / 10;
        let x: Vec<i16> = (0..n)
            .map(|i| (6000.0 * (2.0 * PI * freq * i as f64 / 8000.0).sin()) as i16)
            .collect();
        write_wav(&en.join(format!("{name}.wav")), &x);
    }
    root
}

/// A config for one test: our SIP on `sip_port`, trunk at `trunk_port`.
pub fn write_config(dir: &Path, sip_port: u16, trunk_port: u16, extra: &str) -> PathBuf {
    write_config_with(dir, sip_port, trunk_port, extra, "")
}

/// As [`write_config`], with `tail` appended (more sections: `[http]`, `[webhooks]`, `[campaign]`).
pub fn write_config_with(
    dir: &Path,
    sip_port: u16,
    trunk_port: u16,
    extra: &str,
    tail: &str,
) -> PathBuf {
    let prompts = test_prompts(dir);
    // 300 RTP pairs at a random place in 20000-29999: enough that a port is not
    // reused while the far end of its last call may still be streaming to it
    // (as in production, where the range is large and reuse is least-recent).
    let rtp = 20_000 + 2 * (rand::random::<u16>() % 4_700);
    let text = format!(
        r#"
[sip]
listen = "127.0.0.1:{sip_port}"
public_addr = "127.0.0.1"
rtp_ports = "{rtp}-{rtp_end}"
t1_ms = 100

[[trunks]]
name = "default"
uri = "sip:127.0.0.1:{trunk_port}"
{extra}

[calling]
ring_timeout = "15s"
window = "00:00-23:59"
timezone = "UTC"

{database}

[media]
prompts_dir = "{prompts}"
dialplans_dir = "{dialplans}"

[log]
level = "orderline=debug"

{tail}
"#,
        rtp_end = rtp + 599,
        prompts = prompts.display(),
        dialplans = Path::new(REPO).join("dialplans").display(),
        // A tail with its own [database] (PostgreSQL) replaces the SQLite default,
        // and one without [http] gets an API on a port of its own (never 8080, which
        // parallel tests or the machine may hold).
        database = if tail.contains("[database]") {
            String::new()
        } else {
            format!(
                "[database]\nurl = \"sqlite://{}\"",
                dir.join("orderline.db").display()
            )
        } + if tail.contains("[http]") {
            ""
        } else {
            "\n[http]\nlisten = \"127.0.0.1:0\"\n"
        },
    );
    let path = dir.join("orderline.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Add `keys` (TOML lines) under `[sip]` of the test config in `dir`.
pub fn add_sip_keys(dir: &Path, keys: &str) {
    let cfg = dir.join("orderline.toml");
    let text = std::fs::read_to_string(&cfg).expect("read config");
    let text = text.replacen("t1_ms = 100\n", &format!("t1_ms = 100\n{keys}"), 1);
    std::fs::write(&cfg, text).expect("write config");
}

/// `orderline serve` as a child process (killed on drop).
pub struct Daemon {
    pub child: Child,
    pub port: u16,
    pub config: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    /// Start on a config already written; ready once it answers OPTIONS.
    pub fn spawn(config: &Path, sip_port: u16, log: &Path) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_orderline"))
            .args(["serve", "--config"])
            .arg(config)
            // Relative paths (the TTS cache's default) land beside the config,
            // as they land in the data dir under systemd.
            .current_dir(config.parent().unwrap_or(Path::new(".")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .expect("daemon log"),
            )
            .spawn()
            .expect("start orderline serve");
        let d = Daemon {
            child,
            port: sip_port,
            config: config.to_path_buf(),
            log: log.to_path_buf(),
        };
        d.wait_ready();
        d
    }

    /// Write a test config (trunk at `trunk_port`, `tail` appended), let
    /// `prepare` adjust the test prompts, and start.
    pub fn start_with(
        dir: &Path,
        trunk_port: u16,
        tail: &str,
        prepare: impl FnOnce(&Path),
    ) -> Daemon {
        Daemon::start_trunk(dir, trunk_port, "", tail, prepare)
    }

    /// As [`Daemon::start_with`], with extra `[[trunks]]` keys (`max_channels = 20`, …).
    pub fn start_trunk(
        dir: &Path,
        trunk_port: u16,
        trunk: &str,
        tail: &str,
        prepare: impl FnOnce(&Path),
    ) -> Daemon {
        let port = free_udp_port();
        let cfg = write_config_with(dir, port, trunk_port, trunk, tail);
        prepare(dir);
        Daemon::spawn(&cfg, port, &dir.join("daemon.log"))
    }

    fn wait_ready(&self) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(15) {
            if options_ping(self.port).is_some() {
                return;
            }
        }
        panic!(
            "daemon did not answer OPTIONS within 15 s:\n{}",
            self.logs()
        );
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9`: no drain, no goodbye.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Send one OPTIONS and return the status line of the answer, if any.
pub fn options_ping(port: u16) -> Option<String> {
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    let me = sock.local_addr().ok()?;
    let msg = format!(
        "OPTIONS sip:orders@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKping{n}\r\n\
         From: <sip:probe@{me}>;tag=p1\r\nTo: <sip:orders@127.0.0.1:{port}>\r\nCall-ID: ping-{n}@test\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        n = me.port()
    );
    sock.send_to(msg.as_bytes(), ("127.0.0.1", port)).ok()?;
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .ok()?;
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .map(str::to_string)
}

/// A SIPp process playing one scenario once.
pub struct Sipp {
    pub child: Child,
    pub port: u16,
    pub log_dir: PathBuf,
}

impl Sipp {
    /// Start SIPp on 127.0.0.1 with a scenario file, for exactly one call.
    pub fn start(scenario: &Path, dir: &Path, extra: &[&str]) -> Sipp {
        Sipp::start_on(scenario, dir, free_udp_port(), extra)
    }

    /// As [`Sipp::start`], on a given SIP port.
    pub fn start_on(scenario: &Path, dir: &Path, port: u16, extra: &[&str]) -> Sipp {
        Sipp::start_at("127.0.0.1", scenario, dir, port, extra)
    }

    /// As [`Sipp::start_on`], from another loopback address (`127.0.0.2`, …):
    /// a second host as far as orderline's per-source rules can tell.
    pub fn start_at(ip: &str, scenario: &Path, dir: &Path, port: u16, extra: &[&str]) -> Sipp {
        require("sipp");
        let mport = free_udp_block(4);
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(scenario)
            .args(["-i", ip, "-mi", ip])
            .args(["-p", &port.to_string(), "-mp", &mport.to_string()])
            .args([
                "-m",
                "1",
                "-nostdin",
                "-timeout",
                "60s",
                "-timeout_error",
                "-trace_err",
            ])
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sipp");
        // SIPp binds before it reads the scenario's first message; give it a moment.
        std::thread::sleep(Duration::from_millis(300));
        Sipp {
            child,
            port,
            log_dir: dir.to_path_buf(),
        }
    }

    /// Wait for SIPp to finish; returns whether its one call succeeded, with its error log.
    pub fn finish(mut self, limit: Duration) -> (bool, String) {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("poll sipp") {
                return (st.success(), self.errors());
            }
            if t0.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return (
                    false,
                    format!("sipp still running after {limit:?}\n{}", self.errors()),
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIPp's `-trace_err` log: unexpected messages, retransmission timeouts.
    pub fn errors(&self) -> String {
        let mut out = String::new();
        if let Ok(rd) = std::fs::read_dir(&self.log_dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.ends_with("_errors.log") {
                    out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A SIPp callee on `port` playing `template` (`callee_inband.xml` or a
/// variant): it answers PCMU and streams `secs` of audio holding `presses`
/// (in-band keys), then nothing more.
pub fn streaming_callee(
    dir: &Path,
    template: &str,
    presses: &[(f64, char, f64)],
    secs: f64,
    port: u16,
    extra: &[&str],
) -> Sipp {
    std::fs::create_dir_all(dir).expect("mkdir");
    let wav = dir.join("callee.wav");
    write_wav(&wav, &keypress_audio(presses, secs));
    let raw = dir.join("callee.ul");
    sox_g711(&wav, &raw, "ul");
    let action = format!("rtp_stream=\"{},1,0\"", raw.display());
    let sc = scenario(
        dir,
        template,
        &[
            ("@CODEC_PT@", "0"),
            ("@CODEC_NAME@", "PCMU"),
            ("@MEDIA_ACTION@", &action),
        ],
    );
    Sipp::start_on(&sc, dir, port, extra)
}

/// Copy a scenario template with its placeholders filled in.
pub fn scenario(dir: &Path, template: &str, subst: &[(&str, &str)]) -> PathBuf {
    let mut text =
        std::fs::read_to_string(Path::new(SCENARIOS).join(template)).expect("read scenario");
    for (k, v) in subst {
        text = text.replace(k, v);
    }
    assert!(
        !text.contains("@AUDIO@") && !text.contains("@MEDIA_ACTION@"),
        "unfilled placeholder in {template}"
    );
    let out = dir.join(template);
    std::fs::write(&out, text).expect("write scenario");
    out
}

/// Run `orderline call` and parse its one JSON line.
pub fn orderline_call(config: &Path, target: &str, extra: &[&str]) -> (serde_json::Value, Output) {
    let out = Command::new(env!("CARGO_BIN_EXE_orderline"))
        .arg("call")
        .arg("--config")
        .arg(config)
        .arg(target)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run orderline call");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default().to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
        panic!(
            "orderline call did not print a JSON line ({e}); status {:?}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

/// baresip as a headless auto-answering phone on 127.0.0.1:`port` that plays
/// `source` (8 kHz mono WAV) as its microphone and records what it hears
/// (sndfile.so writes `dump-*-dec.wav` into `rec_dir`). It quits after
/// `run_secs`. baresip 1.0 does not hang up when its file ends: the test hangs
/// up through `ctrl_tcp` ([`Baresip::hang_up`], [`Baresip::hang_up_after`]).
pub struct Baresip {
    pub child: Child,
    pub port: u16,
    pub user: String,
    pub rec_dir: PathBuf,
    pub log: PathBuf,
    /// `ctrl_tcp` port (JSON commands in netstrings).
    pub ctrl: u16,
}

impl Baresip {
    pub fn start(dir: &Path, source: &Path, run_secs: u32) -> Baresip {
        Baresip::phone(
            dir,
            "callee",
            free_udp_port(),
            source,
            run_secs,
            "PCMU,PCMA",
        )
    }

    /// A phone answering as `sip:<user>@127.0.0.1:<port>`, offering only
    /// `codecs` (e.g. `"PCMU"`, `"PCMA"`, `"PCMU,PCMA"`). Its files live
    /// under `dir/baresip-<user>/`.
    pub fn phone(
        dir: &Path,
        user: &str,
        port: u16,
        source: &Path,
        run_secs: u32,
        codecs: &str,
    ) -> Baresip {
        let account =
            format!("<sip:{user}@127.0.0.1>;regint=0;answermode=auto;audio_codecs={codecs}\n");
        Baresip::with_account(dir, user, port, source, run_secs, &account)
    }

    /// A phone that registers with digest (its own REGISTER, `auth_pass`) as
    /// `user` at the registrar on 127.0.0.1:`registrar_port`, asking for
    /// `regint` seconds, and auto-answers. Its home is `dir/baresip-<name>/`.
    #[allow(clippy::too_many_arguments)]
    pub fn registering(
        dir: &Path,
        name: &str,
        user: &str,
        password: &str,
        registrar_port: u16,
        regint: u32,
        source: &Path,
        run_secs: u32,
    ) -> Baresip {
        let account = format!(
            "<sip:{user}@127.0.0.1:{registrar_port}>;auth_pass={password};regint={regint};\
             answermode=auto;audio_codecs=PCMU\n"
        );
        // baresip also opens TCP on its SIP port + 1: phones sit two apart.
        let port = free_udp_block(2);
        Baresip::with_account(dir, name, port, source, run_secs, &account)
    }

    /// A phone that speaks SIP over TLS (baresip 1.0 listens for it on its
    /// SIP port + 1, [`Baresip::tls_port`]), presenting `cert` (certificate
    /// and key in one PEM) and trusting `ca`; `account_params` are appended
    /// to its account (e.g. `;mediaenc=srtp-mand`), `commands` run at start
    /// (`-e`, e.g. `/dial URI`). It logs its SIP trace (`-s`).
    #[allow(clippy::too_many_arguments)]
    pub fn tls_phone(
        dir: &Path,
        user: &str,
        source: &Path,
        run_secs: u32,
        cert: &Path,
        ca: &Path,
        account_params: &str,
        commands: &[String],
    ) -> Baresip {
        let account = format!(
            "<sip:{user}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU{account_params}\n"
        );
        Baresip::tls_phone_with_account(dir, user, source, run_secs, (cert, ca), &account, commands)
    }

    /// [`Baresip::tls_phone`] with a whole `account` line of its own (one
    /// that registers, say); `pki` is (certificate + key PEM, CA).
    pub fn tls_phone_with_account(
        dir: &Path,
        user: &str,
        source: &Path,
        run_secs: u32,
        (cert, ca): (&Path, &Path),
        account: &str,
        commands: &[String],
    ) -> Baresip {
        let config = format!(
            "sip_certificate\t{}\nsip_cafile\t{}\nmodule\tsrtp.so\n",
            cert.display(),
            ca.display()
        );
        let mut args = vec!["-s".to_string()];
        for c in commands {
            args.push("-e".into());
            args.push(c.clone());
        }
        let port = free_udp_block(2);
        Baresip::with_setup(dir, user, port, source, run_secs, account, &config, &args)
    }

    /// Where a [`Baresip::tls_phone`] takes TLS connections.
    pub fn tls_port(&self) -> u16 {
        self.port + 1
    }

    fn with_account(
        dir: &Path,
        user: &str,
        port: u16,
        source: &Path,
        run_secs: u32,
        account: &str,
    ) -> Baresip {
        Baresip::with_setup(dir, user, port, source, run_secs, account, "", &[])
    }

    #[allow(clippy::too_many_arguments)]
    fn with_setup(
        dir: &Path,
        user: &str,
        port: u16,
        source: &Path,
        run_secs: u32,
        account: &str,
        extra_config: &str,
        extra_args: &[String],
    ) -> Baresip {
        require("baresip");
        let home = dir.join(format!("baresip-{user}"));
        let ctrl = free_tcp_port();
        let conf = home.join("conf");
        let rec_dir = home.join("rec");
        std::fs::create_dir_all(&conf).expect("mkdir baresip conf");
        std::fs::create_dir_all(&rec_dir).expect("mkdir baresip rec");
        let config = format!(
            "poll_method\tepoll\nsip_listen\t127.0.0.1:{port}\nsip_transports\tudp\n\
             audio_source\taufile,{src}\n\
             audio_srate\t8000\naudio_channels\t1\nnet_interface\t127.0.0.1\nrtp_ports\t10000-19999\n\
             module_path\t/usr/lib/baresip/modules\nmodule\tg711.so\nmodule\taufile.so\n\
             module\tsndfile.so\nmodule_app\taccount.so\nsnd_path\t{rec}\n\
             module_app\tmenu.so\nmodule_app\tctrl_tcp.so\nctrl_tcp_listen\t127.0.0.1:{ctrl}\n\
             {extra_config}",
            src = source.display(),
            rec = rec_dir.display(),
        );
        // No audio player: the recording is made by sndfile.so in the receive
        // path, and ALSA's "null" player spins a core per phone.
        std::fs::write(conf.join("config"), config).expect("write baresip config");
        std::fs::write(conf.join("accounts"), account).expect("write baresip accounts");
        let log = home.join("baresip.log");
        let out = std::fs::File::create(&log).expect("baresip log");
        let child = Command::new("baresip")
            .arg("-f")
            .arg(&conf)
            .args(["-t", &run_secs.to_string()])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup log"))
            .stderr(out)
            .spawn()
            .expect("start baresip");
        std::thread::sleep(Duration::from_millis(800));
        Baresip {
            child,
            port,
            user: user.to_string(),
            rec_dir,
            log,
            ctrl,
        }
    }

    /// Send one `ctrl_tcp` command (e.g. `hangup`); true if it was delivered.
    pub fn command(&self, cmd: &str) -> bool {
        ctrl_command(self.ctrl, cmd)
    }

    /// Hang up the call now.
    pub fn hang_up(&self) -> bool {
        self.command("hangup")
    }

    /// When baresip answers, count `talk_secs` and hang up, as a phone whose
    /// user put it down at the end of what they had to say (a thread; it
    /// gives up if nothing answers within `run_secs`).
    pub fn hang_up_after(&self, talk_secs: f64, run_secs: u32) {
        let log = self.log.clone();
        let ctrl = self.ctrl;
        std::thread::spawn(move || {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(u64::from(run_secs)) {
                if std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .contains("call: answering call")
                {
                    std::thread::sleep(Duration::from_secs_f64(talk_secs));
                    // Not delivered if the test has ended the phone already.
                    let _ = ctrl_command(ctrl, "hangup");
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }

    /// When baresip answered (first seen in its log), if it did.
    pub fn answered(&self) -> bool {
        self.logs().contains("call: answering call")
    }

    /// `sip:<user>@127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.user, self.port)
    }

    /// What baresip printed (call events, received DTMF, codecs).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until baresip has quit (its `run_secs` are over); false at `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if self.child.try_wait().ok().flatten().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The recording of what baresip heard on its one call.
    pub fn heard(&self) -> PathBuf {
        self.recording("-dec.wav")
    }

    /// The recording of what baresip sent on its one call.
    pub fn said(&self) -> PathBuf {
        self.recording("-enc.wav")
    }

    /// What baresip heard on its latest call (sndfile.so opens one file
    /// per call; the newest by modification time).
    pub fn last_heard(&self) -> PathBuf {
        let rd = std::fs::read_dir(&self.rec_dir).expect("read rec dir");
        rd.flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with("-dec.wav"))
            .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
            .map(|e| e.path())
            .unwrap_or_else(|| panic!("baresip recorded nothing in {}", self.rec_dir.display()))
    }

    fn recording(&self, suffix: &str) -> PathBuf {
        let rd = std::fs::read_dir(&self.rec_dir).expect("read rec dir");
        rd.flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(suffix))
            .unwrap_or_else(|| panic!("baresip recorded nothing in {}", self.rec_dir.display()))
    }
}

/// One JSON command in a netstring to baresip's `ctrl_tcp`.
fn ctrl_command(port: u16, cmd: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let body = format!(r#"{{"command":"{cmd}","params":"","token":"t"}}"#);
    if s.write_all(format!("{}:{body},", body.len()).as_bytes())
        .is_err()
    {
        return false;
    }
    // Wait for its response so the command has run before we go on.
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 512];
    let _ = s.read(&mut buf);
    true
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
