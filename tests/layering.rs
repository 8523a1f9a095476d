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
//! The lexical scan is in `tests/layering_scan/`. Std only, no `syn`: the
//! scan is lexical, which is enough for the paths this code base writes.
//! Run with `cargo test --test layering`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

mod layering_scan;

use layering_scan::{drop_test_items, inline_paths, strip, use_decls};

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
