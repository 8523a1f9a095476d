//! The auth-param list grammar shared by challenges and credentials (RFC 3261 §25.1,
//! RFC 7235 §2.1).

use super::{echo, DigestError, MAX_HEADER_LEN};

// ---------------------------------------------------------------------------------------
// auth-param list parsing (RFC 3261 §25.1: challenge / credentials; RFC 7235 §2.1)
// ---------------------------------------------------------------------------------------

/// One `name=value` pair, value unquoted and unescaped.
pub(super) struct Param<'a> {
    name: &'a str,
    value: String,
    quoted: bool,
}

/// RFC 3261 §25.1 `token` characters.
pub(super) fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c)
}

/// LWS as SIP allows it inside a header value once unfolded, and folding itself.
fn is_lws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn skip_lws(&mut self) {
        while self.peek().is_some_and(is_lws) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_token_char) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    fn err(&self, what: &'static str) -> DigestError {
        DigestError::Syntax { at: self.pos, what }
    }

    /// A quoted-string starting at the opening quote; returns its unescaped content.
    /// RFC 3261 §25.1: `quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)`.
    fn quoted(&mut self) -> Result<String, DigestError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        let bytes = self.s.as_bytes();
        let mut run_start = self.pos;
        loop {
            match bytes.get(self.pos) {
                None => return Err(self.err("closing quote")),
                Some(b'"') => {
                    out.push_str(&self.s[run_start..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.s[run_start..self.pos]);
                    match bytes.get(self.pos + 1) {
                        Some(&c) if c.is_ascii() && c != b'\r' && c != b'\n' => {
                            out.push(char::from(c));
                            self.pos += 2;
                            run_start = self.pos;
                        }
                        _ => return Err(self.err("escaped ASCII character after backslash")),
                    }
                }
                Some(&c) if c < 0x20 && c != b'\t' && !is_lws(c) || c == 0x7f => {
                    return Err(self.err("no control characters inside quotes"));
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// An unquoted value. Strictly a token; we also admit other visible ASCII except
    /// separators that end a parameter, because servers send e.g. unquoted base64 nonces.
    fn bare_value(&mut self) -> &'a str {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_graphic() && c != b',' && c != b'"')
        {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }
}

/// Splits `Scheme p1=v1, p2="v2"` into its scheme and parameters. Stops at the start of a
/// following challenge (`, Scheme2 ...`) if a proxy joined several into one value.
pub(super) fn parse_params(value: &str) -> Result<(&str, Vec<Param<'_>>), DigestError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(DigestError::TooLong);
    }
    let mut c = Cursor { s: value, pos: 0 };
    c.skip_lws();
    let scheme = c.token();
    if scheme.is_empty() {
        return Err(c.err("authentication scheme"));
    }
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(DigestError::UnsupportedScheme(echo(scheme)));
    }
    let after_scheme = c.pos;
    c.skip_lws();
    if c.pos == after_scheme && c.peek().is_some() {
        return Err(c.err("whitespace after scheme"));
    }
    let mut params = Vec::new();
    loop {
        c.skip_lws();
        // Empty list elements (",,") are allowed by the #rule (RFC 7230 §7).
        while c.peek() == Some(b',') {
            c.pos += 1;
            c.skip_lws();
        }
        if c.peek().is_none() {
            break;
        }
        let name = c.token();
        if name.is_empty() {
            return Err(c.err("parameter name"));
        }
        c.skip_lws();
        if c.peek() != Some(b'=') {
            if !params.is_empty() {
                // `, Basic realm=...`: the next challenge begins; it is not ours to read.
                break;
            }
            return Err(c.err("'=' after parameter name"));
        }
        c.pos += 1;
        c.skip_lws();
        let (value, quoted) = if c.peek() == Some(b'"') {
            (c.quoted()?, true)
        } else {
            let v = c.bare_value();
            if v.is_empty() {
                return Err(c.err("parameter value"));
            }
            (v.to_owned(), false)
        };
        params.push(Param {
            name,
            value,
            quoted,
        });
        c.skip_lws();
        match c.peek() {
            None => break,
            Some(b',') => c.pos += 1,
            Some(_) => return Err(c.err("',' between parameters")),
        }
    }
    Ok((scheme, params))
}

/// The values of the parameters named in `names` (matched case-insensitively), in that
/// order, each with whether it was quoted. Others are ignored (RFC 7616 §3.3: unknown
/// parameters MUST be ignored); a repeated one is refused.
pub(super) fn pick<const N: usize>(
    params: Vec<Param<'_>>,
    names: [&'static str; N],
) -> Result<[Option<(String, bool)>; N], DigestError> {
    let mut out: [Option<(String, bool)>; N] = std::array::from_fn(|_| None);
    for p in params {
        let Some(i) = names.iter().position(|n| p.name.eq_ignore_ascii_case(n)) else {
            continue;
        };
        let Some(slot) = out.get_mut(i) else { continue };
        if slot.is_some() {
            return Err(DigestError::DuplicateParam(names[i]));
        }
        *slot = Some((p.value, p.quoted));
    }
    Ok(out)
}

/// A picked parameter's value, quoting forgotten.
pub(super) fn val(p: Option<(String, bool)>) -> Option<String> {
    p.map(|(v, _)| v)
}
