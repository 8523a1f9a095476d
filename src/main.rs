//! The `orderline` binary: CLI front end over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use orderline::call::{CallSpec, Engine};
use orderline::config::Config;

#[derive(Parser)]
#[command(
    name = "orderline",
    version,
    about = "SIP/RTP telephony engine for COD order confirmation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: SIP, RTP, HTTP API and scheduler.
    Serve {
        #[arg(long)]
        config: PathBuf,
    },
    /// Place one confirmation call through the configured trunk and print one JSON line.
    Call {
        #[arg(long)]
        config: PathBuf,
        /// `sip:user@host:port`, or a phone number routed via the default trunk.
        target: String,
        /// Prompt language (`en`, `fr`, `ar`, `ur`).
        #[arg(long)]
        locale: Option<String>,
        /// Order amount to read out, e.g. `2450`.
        #[arg(long, default_value = "0")]
        amount: String,
        /// ISO 4217 currency of the amount.
        #[arg(long, default_value = "PKR")]
        currency: String,
    },
    /// Validate a config file and print what it resolves to.
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
    /// DTMF tools.
    Dtmf {
        #[command(subcommand)]
        command: DtmfCommand,
    },
    /// Answering-machine detection tools.
    Amd {
        #[command(subcommand)]
        command: AmdCommand,
    },
    /// Operator dialer tools.
    Dialer {
        #[command(subcommand)]
        command: DialerCommand,
    },
}

#[derive(Subcommand)]
enum AmdCommand {
    /// Print `human`, `machine` or `unknown` for a WAV file (any rate, mono, 16-bit).
    Classify {
        file: PathBuf,
        /// Print a JSON object with `result`, `decision_ms`, `reason`, `beep` instead.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DialerCommand {
    /// Compare the progressive, VICIdial-adaptive and orderline pacers on one
    /// seeded customer stream; `--json` prints one JSON object per line (JSON Lines).
    Simulate {
        #[arg(long)]
        agents: u32,
        /// Working hours to simulate.
        #[arg(long)]
        hours: f64,
        #[arg(long)]
        seed: u64,
        /// P(a call is answered), 0..1.
        #[arg(long, default_value_t = 0.3)]
        answer_rate: f64,
        /// P(an answered call is a machine), 0..1.
        #[arg(long, default_value_t = 0.0)]
        machine_rate: f64,
        #[arg(long, default_value_t = 90.0)]
        talk_mean: f64,
        #[arg(long, default_value_t = 15.0)]
        wrap_mean: f64,
        #[arg(long, default_value_t = 8.0)]
        ring_mean: f64,
        /// 30-day abandon cap in percent, (0, 3].
        #[arg(long, default_value_t = 3.0)]
        abandon_cap: f64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DtmfCommand {
    /// Print the DTMF digits in a WAV file (any rate, mono, 16-bit) as one line.
    Decode {
        file: PathBuf,
        /// Print a JSON object with per-digit timings instead.
        #[arg(long)]
        json: bool,
    },
}

fn init_logging(cfg: Option<&Config>) {
    use tracing_subscriber::EnvFilter;
    let level = cfg.map_or("info", |c| c.log.level.as_str());
    let filter = EnvFilter::try_from_env("ORDERLINE_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: log files and journald get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if cfg.is_some_and(|c| c.log.json) {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).with_context(|| format!("loading {}", path.display()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CheckConfig { config } => load(&config).map(|cfg| println!("{cfg:#?}")),
        Command::Dtmf {
            command: DtmfCommand::Decode { file, json },
        } => orderline::dtmf::decode_line(&file, json)
            .map(|line| println!("{line}"))
            .map_err(anyhow::Error::from),
        Command::Amd {
            command: AmdCommand::Classify { file, json },
        } => orderline::amd::classify_line(&file, json)
            .map(|line| println!("{line}"))
            .map_err(anyhow::Error::from),
        Command::Dialer {
            command:
                DialerCommand::Simulate {
                    agents,
                    hours,
                    seed,
                    answer_rate,
                    machine_rate,
                    talk_mean,
                    wrap_mean,
                    ring_mean,
                    abandon_cap,
                    json,
                },
        } => simulate(
            &orderline_dialer::sim::SimConfig {
                agents,
                hours,
                seed,
                answer_rate,
                machine_rate,
                talk_mean,
                wrap_mean,
                ring_mean,
                abandon_cap_pct: abandon_cap,
                days: 1,
            },
            json,
        ),
        Command::Call {
            config,
            target,
            locale,
            amount,
            currency,
        } => run_async(async move {
            let cfg = load(&config)?;
            init_logging(Some(&cfg));
            let locale = locale.unwrap_or_else(|| cfg.calling.default_locale.clone());
            let amount_words = orderline::media::say::amount_str(&locale, &amount, &currency)
                .with_context(|| format!("reading out amount {amount:?} {currency}"))?;
            let (engine, _sip) = Engine::start(cfg).await.context("starting the engine")?;
            let report = engine
                .place_confirm_call(&CallSpec {
                    target,
                    locale,
                    amount_words,
                    vars: Default::default(),
                    order_id: None,
                })
                .await
                .context("placing the call")?;
            engine.sip().shutdown().await;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }),
        Command::Serve { config } => run_async(async move {
            let cfg = load(&config)?;
            init_logging(Some(&cfg));
            serve(cfg).await
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `orderline dialer simulate`: a bad argument is a typed error naming it (exit 2).
fn simulate(cfg: &orderline_dialer::sim::SimConfig, json: bool) -> anyhow::Result<()> {
    use orderline_dialer::sim::{run, table, PacerKind};
    let reports = run(cfg, &PacerKind::ALL)?;
    if json {
        for r in &reports {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        print!("{}", table(&reports));
    }
    Ok(())
}

fn run_async(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(fut)
}

/// The daemon: serve until SIGTERM/SIGINT, then drain (BYE to live calls).
async fn serve(cfg: Config) -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
        }
    };
    orderline::daemon::run(cfg, shutdown).await
}
