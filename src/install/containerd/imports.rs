//! The `imports` entry install adds to a version 3 `config.toml` for its
//! drop-in, found and taken out again, and whether an entry already there
//! imports the drop-in (containerd's resolution of names and globs).
//!
//! Pure: plain functions over strings; an entry is added or removed in the
//! text as written, nothing else of it is re-serialised. This module must
//! never run containerd or touch a file.

use toml_edit::Item;

use super::config::{err, line_start, parse, quoted, ConfigError};

/// The `imports` entry install adds to a version 3 config.toml in
/// `config_dir`: every drop-in in its `conf.d`, as containerd 2.x's own
/// default config imports them (containerd PR 12323). A glob that matches
/// nothing is fine where a missing plain import is fatal (FINDINGS 1h), so
/// the entry stays harmless if the drop-in goes.
pub(crate) fn import_entry(config_dir: &str) -> String {
    format!("{}/conf.d/*.toml", config_dir.trim_end_matches('/'))
}

/// `text` (a version 3 config.toml in `config_dir`) with `entry` added to
/// its `imports`, or `None` if an entry there already imports `dropin`.
/// The entry goes after the last one, or a new `imports` line after the
/// `version` line.
pub(crate) fn add_import(
    text: &str,
    config_dir: &str,
    dropin: &str,
    entry: &str,
) -> Result<Option<String>, ConfigError> {
    let config = parse(text)?;
    let doc = config.doc();
    let Some(imports) = doc.get("imports") else {
        let version = doc.get("version").and_then(Item::span).ok_or_else(|| err("version", "missing"))?;
        let eol = text[version.end..].find('\n').map_or(text.len(), |i| version.end + i + 1);
        let nl = if eol == text.len() && !text.ends_with('\n') { "\n" } else { "" };
        return Ok(Some(format!("{}{nl}imports = [{}]\n{}", &text[..eol], quoted(entry), &text[eol..])));
    };
    let list = imports.as_array().ok_or_else(|| err("imports", "must be an array of file names"))?;
    for v in list.iter() {
        let name = v.as_str().ok_or_else(|| err("imports", "must be an array of file names"))?;
        if imports_file(name, config_dir, dropin) {
            return Ok(None);
        }
    }
    let (at, add) = match list.iter().last().and_then(|v| v.span()) {
        Some(last) => (last.end, format!(", {}", quoted(entry))),
        None => {
            let open = imports.span().map(|s| s.start).ok_or_else(|| err("imports", "cannot be edited"))?;
            (open + 1, quoted(entry))
        }
    };
    Ok(Some(format!("{}{add}{}", &text[..at], &text[at..])))
}

/// `text` without the `imports` entry `entry` (and the line, if that was
/// all it held, unless `keep_line`: the line was there before install, as
/// `imports = []`, which the text alone cannot tell from a line install
/// added); `None` if it has no such entry.
pub(crate) fn remove_import(text: &str, entry: &str, keep_line: bool) -> Result<Option<String>, ConfigError> {
    let config = parse(text)?;
    let Some(imports) = config.doc().get("imports") else { return Ok(None) };
    let Some(list) = imports.as_array() else { return Ok(None) };
    let values: Vec<_> = list.iter().collect();
    let Some(i) = values.iter().position(|v| v.as_str() == Some(entry)) else { return Ok(None) };
    let span = values[i].span().ok_or_else(|| err("imports", "cannot be edited"))?;
    if values.len() == 1 && !keep_line {
        let line = format!("imports = [{}]\n", quoted(entry));
        let from = line_start(text, span.start);
        if text[from..].starts_with(&line) {
            return Ok(Some(format!("{}{}", &text[..from], &text[from + line.len()..])));
        }
    }
    // With the comma before it (or, first, after it) and the space between.
    let range = match i {
        0 => match values.get(1).and_then(|v| v.span()) {
            Some(next) => span.start..next.start,
            None => span,
        },
        _ => values[i - 1].span().map_or(span.start, |p| p.end)..span.end,
    };
    Ok(Some(format!("{}{}", &text[..range.start], &text[range.end..])))
}

/// Whether the `imports` entry `name` of a config in `config_dir` imports
/// the file `dropin`. containerd resolves a relative plain name against
/// the config's directory and a relative glob against its working
/// directory, `/` (FINDINGS 1h), and matches globs with Go's
/// `filepath.Match`; `[` classes are not worked out here (they count as no
/// match: an entry is then added, and containerd loads a file once).
fn imports_file(name: &str, config_dir: &str, dropin: &str) -> bool {
    let glob = name.contains(['*', '?', '[']);
    let full = match (name.starts_with('/'), glob) {
        (true, _) => name.to_owned(),
        (false, false) => format!("{}/{name}", config_dir.trim_end_matches('/')),
        (false, true) => format!("/{name}"),
    };
    !full.contains(['[', '\\']) && glob_match(full.as_bytes(), dropin.as_bytes())
}

/// Go's `filepath.Match` for `*` (no `/`) and `?`.
fn glob_match(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => {
            (0..=s.len()).take_while(|&i| i == 0 || s[i - 1] != b'/').any(|i| glob_match(rest, &s[i..]))
        }
        Some((b'?', rest)) => s.first().is_some_and(|&c| c != b'/') && glob_match(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && glob_match(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_added_after_the_last_entry_and_removed_with_their_comma() {
        let d = "/etc/containerd/conf.d/99-oci-add-hooks.toml";
        let e = "/etc/containerd/conf.d/*.toml";
        let add = |t: &str| add_import(t, "/etc/containerd", d, e).unwrap();
        let cases = [
            ("version = 3\nimports = []\n", "version = 3\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n"),
            (
                "version = 3\nimports = [\"/a.toml\",]\n",
                "version = 3\nimports = [\"/a.toml\", \"/etc/containerd/conf.d/*.toml\",]\n",
            ),
            (
                "version = 3\nimports = [\n  '/a.toml', # theirs\n]\n",
                "version = 3\nimports = [\n  '/a.toml', \"/etc/containerd/conf.d/*.toml\", # theirs\n]\n",
            ),
            ("version = 3", "version = 3\nimports = [\"/etc/containerd/conf.d/*.toml\"]\n"),
        ];
        for (before, after) in cases {
            assert_eq!(add(before).as_deref(), Some(after), "{before:?}");
            let back = remove_import(after, e, false).unwrap().unwrap();
            parse(&back).unwrap();
        }
        // An `imports = []` of the file's own, kept.
        let after = add("version = 3\nimports = []\n").unwrap();
        assert_eq!(remove_import(&after, e, true).unwrap().unwrap(), "version = 3\nimports = []\n");
        assert_eq!(remove_import(&after, e, false).unwrap().unwrap(), "version = 3\n");
        assert_eq!(
            remove_import("version = 3\nimports = [\"/a.toml\", \"/etc/containerd/conf.d/*.toml\"]\n", e, false)
                .unwrap()
                .unwrap(),
            "version = 3\nimports = [\"/a.toml\"]\n"
        );
        assert_eq!(
            remove_import("version = 3\nimports = [\"/etc/containerd/conf.d/*.toml\", \"/a.toml\"]\n", e, false)
                .unwrap()
                .unwrap(),
            "version = 3\nimports = [\"/a.toml\"]\n"
        );
        assert_eq!(remove_import("version = 3\n", e, false).unwrap(), None);
        // Entries that import the drop-in already: plain, relative, globs.
        for existing in [
            "/etc/containerd/conf.d/99-oci-add-hooks.toml",
            "conf.d/99-oci-add-hooks.toml",
            "/etc/containerd/*/*.toml",
            "/etc/containerd/conf.d/9?-*",
        ] {
            assert_eq!(add(&format!("version = 3\nimports = [{existing:?}]\n")), None, "{existing}");
        }
        // A relative glob is resolved against /, so it imports nothing here.
        for other in ["conf.d/*.toml", "/etc/containerd/*.toml", "/etc/containerd/conf.d/[9]*.toml"] {
            assert!(add(&format!("version = 3\nimports = [{other:?}]\n")).is_some(), "{other}");
        }
        assert_eq!(
            add_import("version = 3\nimports = 1\n", "/e", d, e).err().unwrap().to_string(),
            "imports: must be an array of file names"
        );
    }

    #[test]
    fn globs_match_as_go_filepath_match() {
        assert!(glob_match(b"/a/*.toml", b"/a/x.toml"));
        assert!(!glob_match(b"/a/*.toml", b"/a/b/x.toml"));
        assert!(glob_match(b"/a/*", b"/a/"));
        assert!(glob_match(b"/a/?.t", b"/a/x.t"));
        assert!(!glob_match(b"/a/?.t", b"/a/.tt"));
        assert!(glob_match(b"*", b"abc"));
        assert!(!glob_match(b"*", b"a/b"));
    }
}
