//! The shape of the source tree, as docs/design.md draws it: every module
//! says what it owns in a `//!` doc, dependencies between modules run one
//! way (no module uses another that uses it back, however long the loop),
//! and nothing of the shim uses the installer.
//!
//! The edges are read from the source as written (`crate::m`, `super::m`
//! and, in a module's own file, `use child::`), test modules excluded: the
//! same thing a reader greps for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module file below `src/`, by module path (`install::docker`; the
/// crate root is `lib`, `main.rs` is left out).
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            if path.is_dir() {
                walk(&path, &format!("{prefix}{name}::"), out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let module = match (prefix, name.as_str()) {
                    ("", "lib") => "lib".to_owned(),
                    ("", "main") => continue,
                    (p, "mod") => p.trim_end_matches("::").to_owned(),
                    (p, n) => format!("{p}{n}"),
                };
                out.insert(module, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "", &mut out);
    out
}

/// The code of a module file without its unit tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The path segments that follow each occurrence of `prefix` (`crate::`
/// gives `install::docker` for `crate::install::docker::X`, and each name
/// of a `crate::{a, b::c}` group).
fn after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(prefix) {
        let before = text[..i].chars().last();
        // Not the tail of a longer path (`x::super::`, `super::super::`).
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &text[i + prefix.len()..];
        let groups: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())].split(',').collect(),
            None => vec![rest],
        };
        for g in groups {
            let path: String = g.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            out.push(path.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect());
        }
    }
    out
}

/// The modules each module uses.
fn edges(modules: &BTreeMap<String, PathBuf>) -> BTreeMap<String, BTreeSet<String>> {
    // The longest module path that `segments`, read from `base`, names.
    let resolve = |base: &str, segments: &[String]| -> Option<String> {
        let mut found = None;
        for n in 1..=segments.len() {
            let candidate = match base {
                "" => segments[..n].join("::"),
                b => format!("{b}::{}", segments[..n].join("::")),
            };
            if modules.contains_key(&candidate) {
                found = Some(candidate);
            }
        }
        found
    };
    let mut out = BTreeMap::new();
    for (module, path) in modules {
        let text = code(path);
        let mut uses = BTreeSet::new();
        for segments in after(&text, "crate::") {
            // An item of the crate root (`crate::VERSION_LINE`) is a use of lib.
            uses.insert(resolve("", &segments).unwrap_or_else(|| "lib".to_owned()));
        }
        let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
        for mut segments in after(&text, "super::") {
            // `super::super::m` climbs one more level for each `super`.
            let mut from = parent;
            while segments.first().is_some_and(|s| s == "super") {
                segments.remove(0);
                from = from.rsplit_once("::").map_or("", |(p, _)| p);
            }
            let base = if from.is_empty() { "lib" } else { from };
            uses.insert(resolve(from, &segments).unwrap_or_else(|| base.to_owned()));
        }
        // A module's own children, named without a prefix (`use docker::X`,
        // `hooks::select(..)`).
        let own = if module == "lib" { "" } else { module.as_str() };
        for child in modules.keys() {
            let name = match child.rsplit_once("::") {
                Some((p, n)) if p == own => n,
                None if own.is_empty() && child != "lib" => child.as_str(),
                _ => continue,
            };
            let named = text
                .match_indices(&format!("{name}::"))
                .any(|(i, _)| !text[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':'));
            if named {
                uses.insert(child.clone());
            }
        }
        uses.remove(module);
        out.insert(module.clone(), uses);
    }
    out
}

#[test]
fn every_module_says_what_it_owns() {
    for (module, path) in modules() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("//!"), "{module} ({}) does not open with a //! doc", path.display());
    }
}

#[test]
fn no_module_uses_one_that_uses_it_back() {
    let edges = edges(&modules());
    // Depth-first search for a loop, reporting the first one found.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(cycle) = visit(m, &edges, &mut Vec::new(), &mut done) {
            panic!("modules use each other in a loop: {}", cycle.join(" -> "));
        }
    }
    // The chain docs/design.md names, in its direction.
    let chain = ["json", "spec", "when", "hooks", "hook_files", "lib"];
    for (i, later) in chain.iter().enumerate().skip(1) {
        assert!(edges[*later].contains(chain[i - 1]) || *later == "lib", "{later} no longer uses {}", chain[i - 1]);
    }
}

#[test]
fn nothing_of_the_shim_uses_the_installer() {
    for (module, uses) in edges(&modules()) {
        if module == "lib" || module == "install" || module.starts_with("install::") {
            continue;
        }
        let installer: Vec<_> = uses.iter().filter(|u| *u == "install" || u.starts_with("install::")).collect();
        assert!(installer.is_empty(), "{module} uses {installer:?}: the shim must build without the installer");
    }
}

#[test]
fn the_reader_finds_the_edges_the_source_has() {
    // What the tests above rely on, checked against modules whose uses are
    // known, so a reader that found nothing could not pass them.
    let edges = edges(&modules());
    assert!(edges["hooks"].is_superset(&["json", "spec", "when"].map(String::from).into()));
    assert!(edges["install"].contains("install::docker"), "{:?}", edges["install"]);
    assert!(edges["install::docker"].contains("install::error"), "{:?}", edges["install::docker"]);
    assert!(edges["install::docker::dockerd"].contains("install::host"), "{:?}", edges["install::docker::dockerd"]);
    assert!(edges["lib"].contains("hooks"));
}
