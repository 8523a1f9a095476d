//! Layering guard (issue #9, "no import cycles between files"): no two files
//! under `src/` may import each other.
//!
//! The test reads every `src/**/*.rs` of the library (not `main.rs`, a
//! separate crate root that sees the library only as `orderline::`), drops
//! comments, string and char literals and every `#[cfg(test)]` item (a test
//! module may use whatever it tests), and collects the paths that start with
//! `crate::`, `super::` or `self::`, in `use` trees and inline. Each path is
//! resolved to the file that defines it:
//!
//! - the longest prefix that names a module picks its file (`a/b.rs` or
//!   `a/b/mod.rs`);
//! - a `mod.rs` is a module's facade: when the next segment is an item the
//!   facade re-exports with `pub use child::Item` (or `pub(crate) use`), the
//!   path resolves on to that child's file, so a child importing `super::X`
//!   where `X` comes from a sibling counts as importing that sibling; the
//!   facade's own `pub use` lines are re-exports, not edges of `mod.rs`;
//! - anything else (an item defined in the facade, a glob re-export of
//!   another crate) stays on the module's own file.
//!
//! A second test fails on longer cycles too (`a → b → c → a`, which no
//! pair shows), listing each strongly connected set of files.
//!
//! Std only, no `syn`: the scan is lexical, which is enough for the paths
//! this code base writes. Run with `cargo test --test layering`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Pairs of files allowed to import each other for now. It is meant to be
/// and stay empty: issue #9 listed pairs in `call` and `config`/`dialer`
/// that other engineers were reworking, and both were gone from `main`
/// when this guard landed. Should one ever have to go here, the entry is
/// temporary: a new pair fails the test, and so does an entry whose pair
/// has gone (delete it, so the list only shrinks).
const ALLOWED: &[(&str, &str)] = &[];

/// One source file: its module path (`["media", "leg"]`) and whether it is a
/// module directory's facade (`mod.rs`, `lib.rs`).
struct Source {
    module: Vec<String>,
    facade: bool,
    /// Code with comments, literals and `#[cfg(test)]` items blanked out.
    code: String,
}

fn main_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Replace comments and string/char literals by spaces (newlines kept), so
/// that neither a doc link nor a SQL string counts as an import.
fn strip(src: &str) -> String {
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
fn drop_test_items(code: &str) -> String {
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
struct UseDecl {
    public: bool,
    paths: Vec<(Vec<String>, String)>,
}

/// Every `use …;` in `code`, and the code with those declarations blanked.
fn use_decls(code: &str) -> (Vec<UseDecl>, String) {
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
fn inline_paths(code: &str) -> Vec<Vec<String>> {
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

/// The crate's module graph as read from the files.
struct Graph {
    files: BTreeMap<Vec<String>, (String, bool)>,
    /// Per facade module: re-exported name → absolute path it points to.
    reexports: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
}

impl Graph {
    /// Absolute path (from the crate root) of `segs` written in `module`.
    fn absolute(module: &[String], segs: &[String]) -> Option<Vec<String>> {
        let mut base: Vec<String> = match segs.first()?.as_str() {
            "crate" => Vec::new(),
            "self" => module.to_vec(),
            "super" => module[..module.len().checked_sub(1)?].to_vec(),
            _ => return None,
        };
        let mut rest = &segs[1..];
        while rest.first().is_some_and(|s| s == "super") {
            base.pop()?;
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The file defining `path`, following facade re-exports.
    fn resolve(&self, path: &[String], hops: usize) -> Option<&str> {
        let k = (0..=path.len())
            .rev()
            .find(|&k| self.files.contains_key(&path[..k]))?;
        let (file, facade) = &self.files[&path[..k]];
        if *facade && hops < 8 {
            if let Some(target) = path
                .get(k)
                .and_then(|item| self.reexports.get(&path[..k])?.get(item))
            {
                let mut next = target.clone();
                next.extend(path[k + 1..].iter().cloned());
                if let Some(f) = self.resolve(&next, hops + 1) {
                    return Some(f);
                }
            }
        }
        Some(file)
    }
}

/// Which files each file under `src/` imports (`"src/a.rs"` → its imports).
fn import_graph(src_dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut paths = Vec::new();
    collect(src_dir, &mut paths);
    let mut sources = Vec::new();
    for p in paths {
        let rel = p.strip_prefix(src_dir).expect("under src");
        let name = format!("src/{}", rel.to_string_lossy());
        if name == "src/main.rs" {
            continue;
        }
        let mut module: Vec<String> = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let facade = matches!(module.last().map(String::as_str), Some("mod" | "lib"));
        if facade {
            module.pop();
        }
        let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
        let code = drop_test_items(&strip(&text));
        sources.push((
            name,
            Source {
                module,
                facade,
                code,
            },
        ));
    }
    let mut graph = Graph {
        files: sources
            .iter()
            .map(|(n, s)| (s.module.clone(), (n.clone(), s.facade)))
            .collect(),
        reexports: BTreeMap::new(),
    };
    let mut parsed = Vec::new();
    for (name, s) in &sources {
        let (decls, rest) = use_decls(&s.code);
        let mut imports = Vec::new();
        for d in decls {
            for (segs, bound) in d.paths {
                // In a facade, `pub use x::Y` (relative or not) re-exports.
                let abs = Graph::absolute(&s.module, &segs).or_else(|| {
                    let mut child = s.module.clone();
                    child.push(segs.first()?.clone());
                    graph.files.contains_key(&child).then(|| {
                        let mut p = s.module.clone();
                        p.extend(segs.iter().cloned());
                        p
                    })
                });
                let Some(abs) = abs else { continue };
                if d.public && s.facade {
                    graph
                        .reexports
                        .entry(s.module.clone())
                        .or_default()
                        .insert(bound, abs);
                } else {
                    imports.push(abs);
                }
            }
        }
        imports.extend(
            inline_paths(&rest)
                .iter()
                .filter_map(|p| Graph::absolute(&s.module, p)),
        );
        parsed.push((name.clone(), imports));
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, imports) in parsed {
        let deps = edges.entry(name.clone()).or_default();
        for p in imports {
            if let Some(f) = graph.resolve(&p, 0) {
                if f != name {
                    deps.insert(f.to_string());
                }
            }
        }
    }
    edges
}

/// Every pair of files under `src/` that import each other, as
/// `("src/a.rs", "src/b.rs")` with the two names sorted.
fn mutual_imports(src_dir: &Path) -> BTreeSet<(String, String)> {
    let edges = import_graph(src_dir);
    let mut pairs = BTreeSet::new();
    for (a, deps) in &edges {
        for b in deps {
            if a < b && edges.get(b).is_some_and(|d| d.contains(a)) {
                pairs.insert((a.clone(), b.clone()));
            }
        }
    }
    pairs
}

/// The sets of files that reach one another through imports (strongly
/// connected components of more than one file), each sorted. The graph has
/// a few hundred files: reachability from every file is fast enough.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(n) = todo.pop() {
            for d in edges.get(n).into_iter().flatten() {
                if seen.insert(d) {
                    todo.push(d);
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<&String>> =
        edges.keys().map(|n| (n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for (n, r) in &reached {
        if done.contains(n) || !r.contains(n) {
            continue;
        }
        let set: Vec<String> = r
            .iter()
            .filter(|m| reached.get(**m).is_some_and(|back| back.contains(n)))
            .map(|m| (*m).clone())
            .collect();
        done.extend(reached.keys().filter(|m| set.contains(m)).copied());
        out.push(set);
    }
    out.sort();
    out
}

#[test]
fn no_import_cycles_of_any_length() {
    let allowed: Vec<Vec<String>> = ALLOWED
        .iter()
        .map(|(a, b)| vec![a.to_string(), b.to_string()])
        .collect();
    let found: Vec<String> = cycles(&import_graph(&main_dir()))
        .into_iter()
        .filter(|c| !allowed.contains(c))
        .map(|c| format!("  {}", c.join(" , ")))
        .collect();
    assert!(
        found.is_empty(),
        "files that import one another in a cycle (imports must run one way, from the \
         edges down to the sans-IO cores):\n{}",
        found.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other() {
    let pairs = mutual_imports(&main_dir());
    let allowed: BTreeSet<(String, String)> = ALLOWED
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<_> = pairs.difference(&allowed).collect();
    let gone: Vec<_> = allowed.difference(&pairs).collect();
    let show = |v: &[&(String, String)]| {
        v.iter()
            .map(|(a, b)| format!("  {a} <-> {b}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        new.is_empty(),
        "files that import each other (move the shared item to its owner, the lower layer):\n{}",
        show(&new)
    );
    assert!(
        gone.is_empty(),
        "no longer a cycle, delete from ALLOWED in tests/layering.rs:\n{}",
        show(&gone)
    );
}

/// The scanner itself: a fixture tree with one cycle through a facade
/// re-export, one through an inline path, one of three files (no pair),
/// and imports that must not count (a doc link, a string, a comment, a
/// test module, a one-way import).
#[test]
fn scanner_finds_cycles_through_facades_and_ignores_comments_and_tests() {
    let dir = std::env::temp_dir().join(format!("orderline-layering-{}", std::process::id()));
    let src = dir.join("src");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(src.join("m")).expect("fixture dir");
    let files = [
        ("lib.rs", "pub mod m;\npub mod top;\nmod x;\nmod y;\nmod z;\n"),
        (
            "m/mod.rs",
            "mod a;\nmod b;\nmod c;\nmod d;\npub use a::Alpha;\npub(crate) use b::{Beta as B2, self as bee};\npub struct Facade;\n",
        ),
        // a -> b through the facade's re-export; b -> a directly: a cycle.
        (
            "m/a.rs",
            "use super::B2;\npub struct Alpha;\n#[cfg(test)]\nmod tests {\n    use crate::top;\n}\n/* crate::top::x */\n",
        ),
        ("m/b.rs", "use super::a::Alpha;\npub struct Beta;\n"),
        // c -> d inline only; d -> c in a use tree: a cycle.
        ("m/c.rs", "fn f() { let _ = crate::m::d::g(); }\n"),
        ("m/d.rs", "use crate::m::{c::{self}, Facade};\npub fn g() {}\n"),
        // x -> y -> z -> x: a cycle of three, no pair.
        ("x.rs", "use crate::y::Y;\npub struct X;\n"),
        ("y.rs", "pub struct Y;\nfn f() -> Option<crate::z::Z> { None }\n"),
        ("z.rs", "use super::x::X;\npub struct Z;\n"),
        // top -> a, one way: a names top only in a test module and a
        // comment; top names b only in doc comments and a string.
        (
            "top.rs",
            "//! See [`crate::m::a`].\nuse crate::m::Alpha;\n/// [`super::m::b`]\nconst S: &str = \"crate::m::b::Beta\";\nconst C: char = '\"';\nfn x<'a>(s: &'a str) -> &'a str { s }\n",
        ),
    ];
    for (name, text) in files {
        fs::write(src.join(name), text).expect("fixture file");
    }
    let pairs = mutual_imports(&src);
    let found = cycles(&import_graph(&src));
    let _ = fs::remove_dir_all(&dir);
    let want: BTreeSet<(String, String)> =
        [("src/m/a.rs", "src/m/b.rs"), ("src/m/c.rs", "src/m/d.rs")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(pairs, want);
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        found,
        vec![
            names(&["src/m/a.rs", "src/m/b.rs"]),
            names(&["src/m/c.rs", "src/m/d.rs"]),
            names(&["src/x.rs", "src/y.rs", "src/z.rs"]),
        ]
    );
}
