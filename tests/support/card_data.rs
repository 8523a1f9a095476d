//! Card data must never leave memory (PCI DSS Req. 3.3, 3.4, 10.3): the search
//! the end-to-end tests run over every daemon log line, the SQLite files, every
//! webhook body and every API/SSE response they received.
//!
//! Needles: the card number and its first 12 digits anywhere (as substrings);
//! the expiry as `MMYY` and `MM/YY`, the CVC and the postal code as standalone
//! tokens (no letter or digit touching them, and not a part of a decimal
//! number), so a timestamp or a port cannot look like a CVC. Tests pick values
//! with a leading zero, which no printed number has.
#![allow(dead_code)]

/// One thing that must not be found.
#[derive(Debug, Clone)]
pub struct Needle {
    pub what: String,
    pub text: String,
    pub standalone: bool,
}

/// The card data of one test (and any other card number keyed in it).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub needles: Vec<Needle>,
}

impl Secrets {
    /// `expiry` as keyed (`MMYY`).
    pub fn card(pan: &str, expiry: &str, cvc: &str, postal: &str) -> Secrets {
        let mut s = Secrets::default();
        s.add_pan(pan);
        if !expiry.is_empty() {
            s.add("expiry MMYY", expiry, true);
            s.add(
                "expiry MM/YY",
                &format!("{}/{}", &expiry[..2], &expiry[2..]),
                true,
            );
        }
        if !cvc.is_empty() {
            s.add("CVC", cvc, true);
        }
        if !postal.is_empty() {
            s.add("postal code", postal, true);
        }
        s
    }

    pub fn add_pan(&mut self, pan: &str) {
        self.add("card number", pan, false);
        self.add("card number's first 12 digits", &pan[..12], false);
    }

    pub fn add(&mut self, what: &str, text: &str, standalone: bool) {
        self.needles.push(Needle {
            what: what.to_string(),
            text: text.to_string(),
            standalone,
        });
    }

    /// Every finding in `hay`: (needle, byte offset, context around it).
    pub fn find(&self, hay: &[u8]) -> Vec<(String, usize, String)> {
        let mut out = Vec::new();
        for n in &self.needles {
            let pat = n.text.as_bytes();
            if pat.is_empty() || pat.len() > hay.len() {
                continue;
            }
            for at in 0..=hay.len() - pat.len() {
                if hay[at] != pat[0] || &hay[at..at + pat.len()] != pat {
                    continue;
                }
                if n.standalone && !standalone(hay, at, pat.len()) {
                    continue;
                }
                let a = at.saturating_sub(80);
                let b = (at + pat.len() + 80).min(hay.len());
                out.push((
                    n.what.clone(),
                    at,
                    String::from_utf8_lossy(&hay[a..b]).replace('\n', "⏎"),
                ));
            }
        }
        out
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// No letter/digit (or non-ASCII letter like µ) on either side, and not the
/// integer or fraction part of a decimal number (`1.073`, `073.5`).
fn standalone(hay: &[u8], at: usize, len: usize) -> bool {
    let before = at.checked_sub(1).map(|i| hay[i]);
    let before2 = at.checked_sub(2).map(|i| hay[i]);
    let after = hay.get(at + len).copied();
    let after2 = hay.get(at + len + 1).copied();
    if before.is_some_and(is_word) || after.is_some_and(is_word) {
        return false;
    }
    if before == Some(b'.') && before2.is_some_and(|b| b.is_ascii_digit()) {
        return false;
    }
    if after == Some(b'.') && after2.is_some_and(|b| b.is_ascii_digit()) {
        return false;
    }
    true
}

/// Text with ANSI escape sequences (tracing's colours) removed, so a value
/// right after `\x1b[0m` is seen with its real neighbours.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Log lines with a field that carries keyed digits: `digit=4`, `digits="42"`,
/// `key: '1'`, `"dtmf":"#"`, `event: 4` (a telephone-event's Debug),
/// `Digit('4')` (an input's Debug), … Names match without regard to case.
pub fn keyed_digit_lines(log: &str) -> Vec<String> {
    const NAMES: [&str; 7] = ["digit", "digits", "key", "keys", "dtmf", "event", "pressed"];
    let mut out = Vec::new();
    for line in strip_ansi(log).lines() {
        let b = line.as_bytes();
        let lower = line.to_ascii_lowercase();
        let mut hit = false;
        for name in NAMES {
            let mut from = 0;
            while let Some(pos) = lower[from..].find(name).map(|p| p + from) {
                from = pos + name.len();
                if pos > 0 && (b[pos - 1].is_ascii_alphanumeric() || b[pos - 1] == b'_') {
                    continue;
                }
                let mut i = pos + name.len();
                if b.get(i) == Some(&b'"') {
                    i += 1;
                }
                while b.get(i) == Some(&b' ') {
                    i += 1;
                }
                if !matches!(b.get(i), Some(b'=') | Some(b':') | Some(b'(')) {
                    continue;
                }
                i += 1;
                while matches!(b.get(i), Some(b' ') | Some(b'"') | Some(b'\'')) {
                    i += 1;
                }
                let start = i;
                while b
                    .get(i)
                    .is_some_and(|c| c.is_ascii_digit() || b"*#ABCD".contains(c))
                {
                    i += 1;
                }
                let end_ok = b.get(i).is_none_or(|c| !c.is_ascii_alphanumeric());
                if i > start && end_ok {
                    hit = true;
                }
            }
        }
        if hit {
            out.push(line.to_string());
        }
    }
    out
}

/// Fail with every finding (and its context) over all `sources`.
pub fn assert_no_card_data(secrets: &Secrets, sources: &[(String, Vec<u8>)]) {
    let mut report = String::new();
    let mut total = 0;
    for (name, bytes) in sources {
        for (what, at, ctx) in secrets.find(bytes) {
            total += 1;
            if total <= 30 {
                report.push_str(&format!("  {what} in {name} at byte {at}: …{ctx}…\n"));
            }
        }
    }
    assert!(total == 0, "card data found {total} time(s):\n{report}");
    assert!(!sources.is_empty());
}
