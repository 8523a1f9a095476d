//! Key presses sent as SIP INFO (RFC 2976 INFO, no Info-Package: the legacy
//! practice carriers still use): `application/dtmf-relay` (`Signal=5`,
//! `Duration=160`, Cisco's format) and `application/dtmf` (the bare key).
//! The body is a key press — during a keypad payment it is card data — so
//! nothing here logs it.

/// One key press from an INFO body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InfoDigit {
    /// One of `0123456789*#ABCD`.
    pub digit: char,
    /// `Duration=` in ms when given.
    pub duration_ms: Option<u32>,
}

impl std::fmt::Debug for InfoDigit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InfoDigit(<redacted>)")
    }
}

/// Whether a media type carries a key press.
pub fn is_dtmf_type(media_type: &str) -> bool {
    matches!(media_type, "application/dtmf-relay" | "application/dtmf")
}

/// A key name as INFO bodies write it: the key itself, or the RFC 4733
/// event code some gateways send instead (`10` = `*`, `11` = `#`, 12–15 = A–D).
fn key(s: &str) -> Option<char> {
    let s = s.trim();
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => {
            let c = c.to_ascii_uppercase();
            "0123456789*#ABCD".contains(c).then_some(c)
        }
        _ => match s.parse::<u8>().ok()? {
            10 => Some('*'),
            11 => Some('#'),
            n @ 12..=15 => Some((b'A' + (n - 12)) as char),
            _ => None,
        },
    }
}

/// The key press in an INFO body of `media_type`, if it holds one.
pub fn parse_dtmf(media_type: &str, body: &[u8]) -> Option<InfoDigit> {
    let text = std::str::from_utf8(body).ok()?;
    match media_type {
        "application/dtmf-relay" => {
            let mut digit = None;
            let mut duration_ms = None;
            for line in text.lines() {
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                match k.trim().to_ascii_lowercase().as_str() {
                    "signal" => digit = key(v),
                    "duration" => duration_ms = v.trim().parse().ok(),
                    _ => {}
                }
            }
            Some(InfoDigit {
                digit: digit?,
                duration_ms,
            })
        }
        "application/dtmf" => Some(InfoDigit {
            digit: key(text)?,
            duration_ms: None,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_relay_and_bare_dtmf_bodies() {
        let d =
            parse_dtmf("application/dtmf-relay", b"Signal=1\r\nDuration=160\r\n").expect("digit");
        assert_eq!((d.digit, d.duration_ms), ('1', Some(160)));
        let d = parse_dtmf("application/dtmf-relay", b"signal= #\nduration=250").expect("hash");
        assert_eq!((d.digit, d.duration_ms), ('#', Some(250)));
        assert_eq!(
            parse_dtmf("application/dtmf-relay", b"Signal=10").map(|d| d.digit),
            Some('*')
        );
        assert_eq!(
            parse_dtmf("application/dtmf", b"7\r\n").map(|d| d.digit),
            Some('7')
        );
        assert_eq!(
            parse_dtmf("application/dtmf", b"d").map(|d| d.digit),
            Some('D')
        );
        for (t, b) in [
            ("application/dtmf-relay", &b"Duration=160"[..]),
            ("application/dtmf-relay", b"Signal=X"),
            ("application/dtmf", b"12345"),
            ("application/dtmf", b"\xff"),
            ("text/plain", b"Signal=1"),
        ] {
            assert!(parse_dtmf(t, b).is_none(), "{t} {b:?}");
        }
        assert_eq!(
            format!("{:?}", parse_dtmf("application/dtmf", b"4")),
            "Some(InfoDigit(<redacted>))"
        );
    }
}
