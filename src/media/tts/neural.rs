//! The neural English voice (hibari-tts) as one long-lived Python worker:
//! loading the model costs about 0.5 s, a name about 12 ms, so a process
//! per name (the `hibari` command) would make every new name in
//! `POST /v1/orders` wait most of a second. It starts on the first render. The worker's source is built
//! into the binary (`neural_worker.py`) and run with `python3 -c`; requests
//! are serialised through a mutex (renders happen at order time, off the
//! media path). A worker that died is started again on the next render.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use super::TtsError;

const WORKER: &str = include_str!("neural_worker.py");

/// A shared handle on the worker (clones share one process).
#[derive(Debug, Clone)]
pub struct NeuralWorker {
    python: String,
    proc: Arc<Mutex<Option<Proc>>>,
}

#[derive(Debug)]
struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NeuralWorker {
    /// A worker run by `python` (not started yet).
    pub fn new(python: impl Into<String>) -> Self {
        Self {
            python: python.into(),
            proc: Arc::new(Mutex::new(None)),
        }
    }

    pub fn program(&self) -> &str {
        &self.python
    }

    /// Whether the voice is installed in this Python (blocking, a few tens
    /// of milliseconds: the module is found, not loaded). The worker itself
    /// starts on the first render, so a daemon that renders nothing in
    /// English never loads the model.
    pub fn installed(&self) -> bool {
        Command::new(&self.python)
            .args([
                "-c",
                "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('hibari') else 1)",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Render `text` into the WAV file `out` (24 kHz, 16-bit).
    pub fn render(&self, text: &str, out: &Path) -> Result<(), TtsError> {
        let mut guard = self.proc.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some(self.spawn()?);
        }
        let Some(proc) = guard.as_mut() else {
            return Err(self.failed("no worker"));
        };
        let req = serde_json::json!({"text": text, "out": out.display().to_string()});
        let answer = writeln!(proc.stdin, "{req}")
            .and_then(|()| proc.stdin.flush())
            .and_then(|()| read_line(&mut proc.stdout));
        match answer {
            Ok(line) if line == "ok" => Ok(()),
            Ok(line) if !line.is_empty() => Err(self.failed(&line)),
            // EOF or a broken pipe: the worker died; the next render starts one.
            Ok(_) => {
                *guard = None;
                Err(self.failed("the worker stopped"))
            }
            Err(e) => {
                *guard = None;
                Err(self.failed(&e.to_string()))
            }
        }
    }

    fn spawn(&self) -> Result<Proc, TtsError> {
        let mut child = Command::new(&self.python)
            .args(["-c", WORKER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| TtsError::Engine {
                program: self.python.clone(),
                source,
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(self.failed("no pipes to the worker"));
        };
        let mut proc = Proc {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        };
        // A worker that cannot load the voice is an engine failure (the
        // order goes on without the text), not a text it cannot speak.
        match read_line(&mut proc.stdout) {
            Ok(line) if line == "ready" => Ok(proc),
            Ok(line) => Err(self.unusable(&line)),
            Err(e) => Err(self.unusable(&e.to_string())),
        }
    }

    fn unusable(&self, why: &str) -> TtsError {
        TtsError::Engine {
            program: format!("{} (hibari-tts worker)", self.python),
            source: std::io::Error::other(why.to_string()),
        }
    }

    fn failed(&self, why: &str) -> TtsError {
        TtsError::Failed {
            program: format!("{} (hibari-tts worker)", self.python),
            status: "error".into(),
            stderr: why.to_string(),
        }
    }
}

fn read_line(r: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    Ok(line.trim_end().to_string())
}
