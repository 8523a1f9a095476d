//! The `orderline` binary: CLI front end over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "orderline", version, about = "SIP/RTP telephony engine for COD order confirmation")]
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dtmf { command: DtmfCommand::Decode { file, json } } => match orderline::dtmf::decode_line(&file, json) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Serve { config } | Command::CheckConfig { config } => {
            match orderline::config::Config::load(&config) {
                Ok(cfg) => {
                    println!("{cfg:#?}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
