//! The lexical half of `tests/layering.rs`: blank comments, literals and
//! `#[cfg(test)]` items, then pull out `use` trees and inline
//! `crate::`/`super::`/`self::` paths. Std only; no `syn` (the scan only has
//! to be right for the way this code base writes Rust).

/// Replace comments and string/char literals by spaces (newlines kept), so
/// that neither a doc link nor a SQL string counts as an import.
pub(crate) fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank = |out: &mut Vec<u8>, s: &[u8]| {
        out.extend(s.iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }));
    };
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest.starts_with(b"/*") {
            // Block comments nest in Rust.
            let (mut depth, mut j) = (0usize, 0usize);
            while j < rest.len() {
                if rest[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &rest[..j]);
            i += j;
        } else if let Some(len) = raw_string(rest, out.last().copied()) {
            blank(&mut out, &rest[..len]);
            i += len;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let len = (j + 1).min(rest.len());
            blank(&mut out, &rest[..len]);
            i += len;
        } else if rest[0] == b'\'' {
            // A char literal ('x', '\n', '\'', 'é'), else a lifetime.
            let len = if rest.get(1) == Some(&b'\\') {
                rest.iter().skip(3).position(|&c| c == b'\'').map(|p| p + 4)
            } else {
                // Byte length of the UTF-8 char after the quote.
                let n = match rest.get(1) {
                    Some(&c) if c >= 0xF0 => 4,
                    Some(&c) if c >= 0xE0 => 3,
                    Some(&c) if c >= 0x80 => 2,
                    _ => 1,
                };
                (rest.get(1 + n) == Some(&b'\'')).then_some(n + 2)
            };
            let len = len.unwrap_or(1);
            if len == 1 {
                out.push(b'\'');
            } else {
                blank(&mut out, &rest[..len]);
            }
            i += len;
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8")
}

/// Length of a raw (byte) string literal starting here (`r"…"`, `r#"…"#`,
/// `br"…"`), if one does; `prev` keeps `for"` or `xr"` from matching.
fn raw_string(rest: &[u8], prev: Option<u8>) -> Option<usize> {
    if prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return None;
    }
    let start = if rest.starts_with(b"br") {
        2
    } else if rest.starts_with(b"r") {
        1
    } else {
        return None;
    };
    let hashes = rest[start..].iter().take_while(|&&c| c == b'#').count();
    if rest.get(start + hashes) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = start + hashes + 1;
    let end = rest[body..]
        .windows(close.len())
        .position(|w| w == close.as_slice())
        .map_or(rest.len(), |p| body + p + close.len());
    Some(end)
}

/// Blank every item carrying `#[cfg(test)]`: up to its `;` or through its
/// balanced `{ … }`, whichever comes first.
pub(crate) fn drop_test_items(code: &str) -> String {
    let mut b = code.as_bytes().to_vec();
    let attr = b"#[cfg(test)]";
    let mut from = 0;
    while let Some(p) = find(&b[from..], attr).map(|p| p + from) {
        let mut j = p + attr.len();
        let mut depth = 0usize;
        while j < b.len() {
            match b[j] {
                b';' if depth == 0 => break,
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        let end = (j + 1).min(b.len());
        for c in &mut b[p..end] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        from = end;
    }
    String::from_utf8(b).expect("blanking keeps UTF-8")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// A `use` declaration: whether it is `pub`/`pub(..)`, and its paths as
/// (segments, the name it binds).
pub(crate) struct UseDecl {
    pub(crate) public: bool,
    pub(crate) paths: Vec<(Vec<String>, String)>,
}

/// Every `use …;` in `code`, and the code with those declarations blanked.
pub(crate) fn use_decls(code: &str) -> (Vec<UseDecl>, String) {
    let b = code.as_bytes();
    let mut rest = b.to_vec();
    let mut decls = Vec::new();
    let mut i = 0;
    while let Some(p) = find(&b[i..], b"use").map(|p| p + i) {
        i = p + 3;
        let word = (p == 0 || !is_ident(b[p - 1]))
            && b.get(p + 3).is_some_and(|c| c.is_ascii_whitespace());
        if !word {
            continue;
        }
        // `pub`, `pub(crate)`, `pub(super)`, `pub(in …)` just before it?
        let before = code[..p].trim_end();
        let public = before.ends_with("pub")
            || (before.ends_with(')') && {
                let open = before.rfind('(').unwrap_or(0);
                before[..open].trim_end().ends_with("pub")
            });
        let Some(end) = b[p..].iter().position(|&c| c == b';').map(|e| e + p) else {
            break;
        };
        let mut paths = Vec::new();
        expand(&code[p + 3..end], &mut Vec::new(), &mut paths);
        decls.push(UseDecl { public, paths });
        for c in &mut rest[p..end] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        i = end;
    }
    (
        decls,
        String::from_utf8(rest).expect("blanking keeps UTF-8"),
    )
}

/// Expand a use tree (`a::{b, c::{d as e, self}}`) into full paths.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    let tree = tree.trim();
    let tree = tree.strip_prefix("::").unwrap_or(tree);
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let close = tree.rfind('}').unwrap_or(tree.len());
        let inner = &tree[open + 1..close];
        let n = prefix.len();
        prefix.extend(head);
        let mut depth = 0;
        let mut start = 0;
        for (k, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..k], prefix, out);
                    start = k + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], prefix, out);
        prefix.truncate(n);
        return;
    }
    if tree.is_empty() {
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((p, a)) => (p.trim(), Some(a.trim())),
        None => (tree, None),
    };
    let mut segs = prefix.clone();
    for s in path.split("::").map(str::trim).filter(|s| !s.is_empty()) {
        if s == "self" && !segs.is_empty() {
            continue; // `a::{self}` names `a`
        }
        segs.push(s.to_string());
    }
    let name = alias
        .or(segs.last().map(String::as_str))
        .unwrap_or("")
        .to_string();
    out.push((segs, name));
}

/// Paths written inline in code (`crate::audio::write_wav_8k(..)`).
pub(crate) fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if is_ident(b[i]) && (i == 0 || (!is_ident(b[i - 1]) && b[i - 1] != b':')) {
            let mut segs = Vec::new();
            let mut j = i;
            loop {
                let s = j;
                while j < b.len() && is_ident(b[j]) {
                    j += 1;
                }
                if s == j {
                    break;
                }
                segs.push(code[s..j].to_string());
                if b[j..].starts_with(b"::") && b.get(j + 2).is_some_and(|&c| is_ident(c)) {
                    j += 2;
                } else {
                    break;
                }
            }
            if segs.len() > 1 && matches!(segs[0].as_str(), "crate" | "super" | "self") {
                out.push(segs);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}
