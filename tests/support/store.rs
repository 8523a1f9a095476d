//! Test databases for the store tests: a SQLite file in a temp dir, and a
//! database in a real PostgreSQL server that `scripts/pg-test` starts once per
//! test binary. If PostgreSQL cannot be started the tests FAIL with the
//! server's log; they never skip.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use orderline::store::Store;
use sqlx::{Connection, Executor};

/// A database a test can open (and re-open, to simulate a restart).
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn open(&self) -> Store {
        match Store::open(&self.url).await {
            Ok(store) => store,
            Err(e) => panic!("cannot open test store {}: {e}", self.url),
        }
    }

    /// A raw connection, for checks the store API does not offer.
    pub async fn raw(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        match sqlx::AnyConnection::connect(&self.url).await {
            Ok(c) => c,
            Err(e) => panic!("cannot connect to {}: {e}", self.url),
        }
    }
}

pub fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("orderline.db").display());
    TestDb {
        url,
        _dir: Some(dir),
    }
}

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database on the shared test server.
pub async fn postgres_db() -> TestDb {
    let base = match SERVER.get_or_init(start_server) {
        Ok(url) => url.clone(),
        Err(log) => panic!("PostgreSQL for the store tests could not be started (CI needs the Debian package postgresql):\n{log}"),
    };
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("connect {base}: {e}"));
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    admin.close().await.ok();
    let (server, _) = base.rsplit_once('/').expect("url has a database part");
    TestDb {
        url: format!("{server}/{name}"),
        _dir: None,
    }
}

fn start_server() -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-test");
    let mut log = String::new();
    // A port taken between our probe and the server's bind is retried.
    for _ in 0..3 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?
            .port();
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(port.to_string())
            .arg(std::process::id().to_string())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if out.status.success() {
            let stdout = String::from_utf8_lossy(&out.stdout);
            if let Some(url) = stdout
                .lines()
                .last()
                .filter(|l| l.starts_with("postgres://"))
            {
                return Ok(url.to_string());
            }
        }
        log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Err(log)
}

/// Run each `async fn name(db: TestDb)` against SQLite and PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::support::store::sqlite_db()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(crate::support::store::postgres_db().await).await;
            }
        }
    )*};
}

/// A config agent with a fixed phone and, if given, its own API token.
#[allow(dead_code)] // not every test binary that includes this module makes agents
pub fn config_agent(id: &str, token: Option<&str>) -> orderline::config::AgentConfig {
    orderline::config::AgentConfig {
        id: id.into(),
        name: format!("Agent {id}"),
        sip_uri: Some(format!("sip:{id}@127.0.0.1:5062")),
        sip_user: None,
        sip_password: None,
        api_token: token.map(Into::into),
        srtp: Default::default(),
    }
}
