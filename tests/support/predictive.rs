//! What the predictive-dialer tests share (issue #12): a mode's seeded
//! 30-day history and the figures the daemon logs per line.

use std::path::Path;

/// The mode's last 20 days as the store keeps them: 300 live answers a day,
/// 1 % abandoned. Without history the 30-day budget allows no abandon at
/// all, and the pacer rightly dials one line per ready agent.
pub fn a_month_of_history(dir: &Path, mode: &str) {
    let url = format!("sqlite://{}", dir.join("orderline.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = orderline::store::Store::open(&url).await.expect("store");
        let now = orderline::clock::Clock::system().now();
        // The mode's zone is UTC: its days are UTC days since 1970.
        let today = (now.timestamp() / 86_400) as u64;
        for back in 1..=20 {
            let day = orderline_dialer::pacer::model::DayCount {
                day: today - back,
                dialled: 900,
                answered: 300,
                abandoned: 3,
            };
            store
                .save_pacer_day(mode, &day, now)
                .await
                .expect("history");
        }
        store.close().await;
    });
}

/// `key=<n>` values of the daemon's log lines containing `what`.
pub fn logged_ms(logs: &str, what: &str, key: &str) -> Vec<u64> {
    logs.lines()
        .filter(|l| l.contains(what))
        .filter_map(|l| {
            let at = l.find(&format!("{key}="))? + key.len() + 1;
            l[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// The daemon's log line per abandoned customer, at the decision.
pub const ABANDONED: &str = "abandoned: no agent within";
/// The line's log when the safe-harbor message's first packet went out.
pub const MESSAGE_SENT: &str = "safe-harbor message: first audio sent";

/// `heard_after_ms` of every abandoned customer's message (the first
/// packet's send time, from the window's start), waiting up to 5 s for the
/// lines to log as many as were abandoned: the message starts after the
/// decision is logged.
pub fn messages_heard_after(logs: impl Fn() -> String) -> Vec<u64> {
    let t0 = std::time::Instant::now();
    loop {
        let l = logs();
        let abandoned = l.lines().filter(|x| x.contains(ABANDONED)).count();
        let heard = logged_ms(&l, MESSAGE_SENT, "heard_after_ms");
        if heard.len() >= abandoned || t0.elapsed() > std::time::Duration::from_secs(5) {
            assert_eq!(
                heard.len(),
                abandoned,
                "one message per abandoned customer:\n{l}"
            );
            return heard;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
