//! SIP session timers (RFC 4028), sans-IO: the negotiation of
//! `Session-Expires`/`Min-SE` and each dialog's refresh clock.
//!
//! A call whose far end vanished without a BYE (a carrier's SBC restarted, a
//! NAT binding lapsed) stays up forever in SIP alone. With a session timer
//! one side, the *refresher*, re-sends the session (UPDATE, or re-INVITE to
//! a peer that does not allow UPDATE) every half interval; when no refresh
//! succeeds within the interval, the dialog is ended with BYE (§10).
//!
//! "uac"/"uas" in `refresher=` name the roles in the transaction that
//! carries the header, not in the dialog (§7.1, §9).

use std::time::{Duration, Instant};

use super::message::Message;

/// Our session timer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimerConfig {
    /// The interval we ask for in our INVITEs (`Session-Expires`, §7.1;
    /// RFC 4028 recommends 1800 s).
    pub expires: Duration,
    /// The shortest interval we accept (`Min-SE`; never below 90 s in
    /// service, §4: tests lower it).
    pub min_se: Duration,
}

impl Default for SessionTimerConfig {
    fn default() -> Self {
        SessionTimerConfig {
            expires: Duration::from_secs(1800),
            min_se: Duration::from_secs(90),
        }
    }
}

impl SessionTimerConfig {
    pub fn min_se_secs(&self) -> u32 {
        u32::try_from(self.min_se.as_secs())
            .unwrap_or(u32::MAX)
            .max(1)
    }

    pub fn expires_secs(&self) -> u32 {
        u32::try_from(self.expires.as_secs())
            .unwrap_or(u32::MAX)
            .max(self.min_se_secs())
    }
}

/// Who refreshes, as the transaction's roles (`refresher=uac|uas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

impl Refresher {
    fn token(self) -> &'static str {
        match self {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        }
    }
}

/// A `Session-Expires` value (§4): delta-seconds and the refresher, if named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires {
    pub secs: u32,
    pub refresher: Option<Refresher>,
}

impl SessionExpires {
    /// The header's value, `1800;refresher=uac`.
    pub fn value(&self) -> String {
        match self.refresher {
            Some(r) => format!("{};refresher={}", self.secs, r.token()),
            None => self.secs.to_string(),
        }
    }
}

/// `Session-Expires` (compact `x`) of a message, if present and well formed.
pub fn session_expires(m: &Message) -> Option<SessionExpires> {
    let v = m.header("Session-Expires")?;
    let mut parts = v.split(';');
    let secs = parts.next()?.trim().parse().ok()?;
    let refresher = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("refresher") {
            return None;
        }
        match v.trim().to_ascii_lowercase().as_str() {
            "uac" => Some(Refresher::Uac),
            "uas" => Some(Refresher::Uas),
            _ => None,
        }
    });
    Some(SessionExpires { secs, refresher })
}

/// `Min-SE` of a message (§5), if present.
pub fn min_se(m: &Message) -> Option<u32> {
    m.header("Min-SE")?.split(';').next()?.trim().parse().ok()
}

fn has_token<'a>(mut values: impl Iterator<Item = &'a str>, token: &str) -> bool {
    values.any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Whether the sender supports session timers (`Supported`/`Require: timer`).
pub fn supports_timer(m: &Message) -> bool {
    has_token(m.headers("Supported"), "timer") || m.require.iter().any(|r| r == "timer")
}

/// Whether the sender's `Allow` lists UPDATE (RFC 3311), so a refresh can
/// be an UPDATE rather than a re-INVITE (RFC 4028 §7.4 prefers UPDATE).
pub fn allows_update(m: &Message) -> bool {
    has_token(m.headers("Allow"), "UPDATE")
}

/// What the UAS side of a session refresh request (the initial INVITE, a
/// re-INVITE or an UPDATE) answers (§9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UasTimer {
    /// 422 Session Interval Too Small, with this `Min-SE` (§9).
    TooSmall { min_se: u32 },
    /// The request asked for no timer: none runs.
    Off,
    /// Put `Session-Expires: secs;refresher=...` in the 2xx (and
    /// `Require: timer` when the UAC supports it, §9).
    Run {
        expires: SessionExpires,
        require: bool,
    },
}

/// Decide the answer to a session refresh request (§9): too small an
/// interval gets 422; a UAC that supports timers and names no refresher
/// refreshes itself; one that does not support them leaves it to us.
pub fn negotiate_uas(req: &Message, cfg: &SessionTimerConfig) -> UasTimer {
    let Some(se) = session_expires(req) else {
        return UasTimer::Off;
    };
    let ours = cfg.min_se_secs();
    if se.secs < ours {
        return UasTimer::TooSmall {
            min_se: ours.max(min_se(req).unwrap_or(0)),
        };
    }
    let supported = supports_timer(req);
    let refresher = match (se.refresher, supported) {
        (_, false) => Refresher::Uas,
        (Some(r), true) => r,
        (None, true) => Refresher::Uac,
    };
    UasTimer::Run {
        expires: SessionExpires {
            secs: se.secs,
            refresher: Some(refresher),
        },
        require: supported,
    }
}

/// The headers our INVITE carries to ask for a timer (§7.1): `interval`
/// (ours, or raised by a 422's `Min-SE`, §7.4).
pub fn request_headers(interval: u32, cfg: &SessionTimerConfig) -> Vec<(String, String)> {
    vec![
        ("Supported".into(), "timer".into()),
        ("Session-Expires".into(), interval.to_string()),
        ("Min-SE".into(), cfg.min_se_secs().min(interval).to_string()),
    ]
}

/// One dialog's running session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimer {
    pub interval: Duration,
    /// Whether we are the refresher.
    pub we_refresh: bool,
    /// When we send the next refresh (refresher only; `None` while one is
    /// in flight).
    pub refresh_at: Option<Instant>,
    /// When the session is over without a successful refresh: the refresher
    /// gives up at the full interval; the other side sends BYE
    /// `min(32 s, interval/3)` before it (§10).
    pub expires_at: Instant,
}

impl SessionTimer {
    /// A timer (re)started by a successful refresh at `now`.
    pub fn start(now: Instant, secs: u32, we_refresh: bool) -> SessionTimer {
        let interval = Duration::from_secs(u64::from(secs.max(1)));
        let (refresh_at, expires_at) = if we_refresh {
            (Some(now + interval / 2), now + interval)
        } else {
            let margin = Duration::from_secs(32).min(interval / 3);
            (None, now + interval - margin)
        };
        SessionTimer {
            interval,
            we_refresh,
            refresh_at,
            expires_at,
        }
    }

    /// The timer a 2xx to our refresh (or initial INVITE) sets up (§7.2): no
    /// `Session-Expires` in it, no timer; `refresher=uac` is us.
    pub fn from_response(now: Instant, resp: &Message) -> Option<SessionTimer> {
        let se = session_expires(resp)?;
        let we = se.refresher.unwrap_or(Refresher::Uac) == Refresher::Uac;
        Some(SessionTimer::start(now, se.secs, we))
    }

    /// The earliest instant this timer needs a look.
    pub fn deadline(&self) -> Instant {
        self.refresh_at
            .map_or(self.expires_at, |r| r.min(self.expires_at))
    }

    pub fn interval_secs(&self) -> u32 {
        u32::try_from(self.interval.as_secs()).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Framing, RawMessage};

    fn invite(extra: &str) -> Message {
        let text = format!(
            "INVITE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKst\r\n\
             From: <sip:b@127.0.0.1>;tag=1\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: st@test\r\n\
             CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        let (raw, _) = RawMessage::parse(text.as_bytes(), Framing::Datagram).expect("frame");
        Message::from_raw(&raw).expect("parse")
    }

    #[test]
    fn parses_session_expires_compact_and_min_se() {
        let m = invite("x: 1200 ; refresher=UAS\r\nMin-SE: 600\r\nk: 100rel, timer\r\nAllow: INVITE, UPDATE\r\n");
        assert_eq!(
            session_expires(&m),
            Some(SessionExpires {
                secs: 1200,
                refresher: Some(Refresher::Uas)
            })
        );
        assert_eq!(min_se(&m), Some(600));
        assert!(supports_timer(&m) && allows_update(&m));
        assert!(!allows_update(&invite("Allow: INVITE, BYE\r\n")));
    }

    #[test]
    fn uas_rules_of_section_9() {
        let cfg = SessionTimerConfig::default();
        // Too small: 422 with the larger of ours and theirs.
        assert_eq!(
            negotiate_uas(&invite("Session-Expires: 30\r\n"), &cfg),
            UasTimer::TooSmall { min_se: 90 }
        );
        assert_eq!(negotiate_uas(&invite(""), &cfg), UasTimer::Off);
        // A UAC without timer support: we refresh, no Require.
        assert_eq!(
            negotiate_uas(&invite("Session-Expires: 1800\r\n"), &cfg),
            UasTimer::Run {
                expires: SessionExpires {
                    secs: 1800,
                    refresher: Some(Refresher::Uas)
                },
                require: false
            }
        );
        // Supported, no refresher named: the UAC refreshes.
        assert_eq!(
            negotiate_uas(
                &invite("Supported: timer\r\nSession-Expires: 900\r\n"),
                &cfg
            ),
            UasTimer::Run {
                expires: SessionExpires {
                    secs: 900,
                    refresher: Some(Refresher::Uac)
                },
                require: true
            }
        );
        // Its choice is kept.
        assert_eq!(
            negotiate_uas(
                &invite("Supported: timer\r\nSession-Expires: 900;refresher=uas\r\n"),
                &cfg
            ),
            UasTimer::Run {
                expires: SessionExpires {
                    secs: 900,
                    refresher: Some(Refresher::Uas)
                },
                require: true
            }
        );
    }

    #[test]
    fn refresher_refreshes_at_half_and_the_other_side_gives_up_early() {
        let t0 = Instant::now();
        let ours = SessionTimer::start(t0, 90, true);
        assert_eq!(ours.refresh_at, Some(t0 + Duration::from_secs(45)));
        assert_eq!(ours.expires_at, t0 + Duration::from_secs(90));
        assert_eq!(ours.deadline(), t0 + Duration::from_secs(45));
        let theirs = SessionTimer::start(t0, 90, false);
        assert_eq!(theirs.refresh_at, None);
        assert_eq!(
            theirs.expires_at,
            t0 + Duration::from_secs(60),
            "90 - min(32, 30)"
        );
        let long = SessionTimer::start(t0, 1800, false);
        assert_eq!(long.expires_at, t0 + Duration::from_secs(1768));
    }
}
