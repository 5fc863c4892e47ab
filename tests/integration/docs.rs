//! The documentation that ships with the binary: the man page
//! (`packaging/oci-add-hooks.1`) documents every option the binary's help
//! texts print (`--help`, `install --help`, `uninstall --help`), every
//! variable and every path they name, and groff reads it without a warning.
//! And docs/design.md's module map has a row for every source file.
//!
//! It needs the built binary and groff, not `make dist`, so it runs in
//! `make test-native` (and under qemu), where a new option without a line
//! in the man page fails at once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn page_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/oci-add-hooks.1")
}

/// The page's roff source as plain words: `\-` read as `-`, and font
/// changes (`\fB`, `\fI`, `\fR`, `\fP`) and zero-width escapes (`\&`, `\:`)
/// dropped, so `\fB\-\-bin\-dir\fR` is the word `--bin-dir`.
fn page_text() -> String {
    plain(&std::fs::read_to_string(page_path()).unwrap())
}

fn plain(roff: &str) -> String {
    let mut text = roff.replace("\\-", "-");
    for escape in ["\\fB", "\\fI", "\\fR", "\\fP", "\\&", "\\:"] {
        text = text.replace(escape, "");
    }
    text
}

/// What `oci-add-hooks ARGS` prints on stdout; it must succeed.
fn help(args: &[&str]) -> String {
    let out = util::shim().args(args).output().unwrap();
    assert!(out.status.success(), "oci-add-hooks {}: stderr: {}", args.join(" "), util::stderr(&out));
    util::stdout(&out)
}

/// Every `--word` token of `text` (a bare `--` is not an option).
fn options(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.len() > 2 && w.starts_with("--") && w.as_bytes()[2].is_ascii_alphanumeric())
        .map(str::to_owned)
        .collect()
}

/// Every environment variable of ours, and every absolute path, that
/// `text` names.
fn variables_and_paths(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_/.".contains(c)))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| w.starts_with("OCI_ADD_HOOKS_") || (w.starts_with('/') && w.len() > 1))
        .map(str::to_owned)
        .collect()
}

#[test]
fn man_page_documents_every_option_variable_and_path_of_the_help_texts() {
    let page = page_text();
    let page_options = options(&page);
    let mut missing = Vec::new();
    // The least each help text must yield, so that a change in its layout
    // cannot make this test check nothing.
    for (args, at_least) in [(&["--help"][..], 4), (&["install", "--help"], 15), (&["uninstall", "--help"], 15)] {
        let cmd = format!("oci-add-hooks {}", args.join(" "));
        let text = help(args);
        let opts = options(&text);
        assert!(opts.len() >= at_least, "only {} options found in {cmd}:\n{text}", opts.len());
        for opt in &opts {
            if !page_options.contains(opt) {
                missing.push(format!("{opt} (printed by {cmd})"));
            }
        }
        for word in variables_and_paths(&text) {
            if !page.contains(&word) {
                missing.push(format!("{word} (named by {cmd})"));
            }
        }
    }
    assert!(missing.is_empty(), "{} does not document:\n  {}", page_path().display(), missing.join("\n  "));
}

#[test]
fn options_are_whole_words() {
    let got = options("usage: x [--] [--a-b PATH] --c=V (--d) --opt VALUE, $OCI --1 - ---");
    let want: BTreeSet<String> = ["--a-b", "--c", "--d", "--opt", "--1"].map(String::from).into();
    assert_eq!(got, want);
    // roff's escapes do not glue words together in the page.
    let page = plain(".B \\-\\-wait\n(\\fB\\-\\-bin\\-dir\\fR, \\fB\\-\\-no\\-reload\\fP)\n.BI \\-\\-opt= VALUE\\&.");
    let want: BTreeSet<String> = ["--wait", "--bin-dir", "--no-reload", "--opt"].map(String::from).into();
    assert_eq!(options(&page), want);
    assert!(plain("/etc/containerd/conf.d/\\:99\\-x.toml").contains("/etc/containerd/conf.d/99-x.toml"));
    let got = variables_and_paths("(default: /; $OCI_ADD_HOOKS_CONFIG, else /etc/x/hooks.d) /a.toml, DIR/b.json.");
    let want: BTreeSet<String> = ["OCI_ADD_HOOKS_CONFIG", "/etc/x/hooks.d", "/a.toml"].map(String::from).into();
    assert_eq!(got, want);
}

#[test]
fn man_page_renders_without_a_warning_and_names_this_version() {
    let page_path = page_path();
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(
        page.contains(".TH OCI-ADD-HOOKS 1 ") && page.contains(&format!("\"oci-add-hooks {VERSION}\"")),
        "{}: .TH names another version",
        page_path.display()
    );
    if !util::require(&["groff"]) {
        return;
    }
    let out = Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).arg(&page_path).output().unwrap();
    assert!(out.status.success() && out.stderr.is_empty(), "groff: {}", util::stderr(&out));
}

/// Every source file below `src/`, as a path from the repository root
/// (`src/install/docker/mod.rs`).
fn source_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let root = Path::new(env!("CARGO_MANIFEST_DIR"));
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.sort();
    out
}

/// docs/design.md's module map has a row for every source file, so that a
/// new module cannot land without saying what it owns and must never do
/// (layout.rs checks the `//!` doc and the dependencies; this, the map).
#[test]
fn design_md_maps_every_source_file() {
    let design = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/design.md");
    let text = std::fs::read_to_string(&design).unwrap();
    let files = source_files();
    assert!(files.len() >= 20, "only {} source files found", files.len());
    let missing: Vec<&String> = files.iter().filter(|f| !text.contains(&format!("| `{f}` |"))).collect();
    assert!(missing.is_empty(), "{} has no row for: {missing:?}", design.display());
}

/// `make demo`, the README's first command, as it runs: a real busybox
/// container through the built shim and runc, every injected hook writing
/// its line. (The demo broke once unnoticed: its hook files were under
/// /tmp, which the shim came to refuse as a directory others can write.)
#[test]
fn regression_make_demo_put_its_hooks_where_the_shim_refuses_them() {
    if !util::require(&["runc", "busybox"])
        || !util::require_root()
        || !util::native_only("the demo runs the shim directly, not through the emulator")
    {
        return;
    }
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/demo.sh");
    let out = Command::new("bash").arg(demo).arg(util::bin()).output().unwrap();
    let stdout = util::stdout(&out);
    assert!(out.status.success(), "demo failed: {}{stdout}", util::stderr(&out));
    assert!(stdout.contains("hello from container"), "{stdout}");
    for stage in ["prestart", "createRuntime", "poststart", "poststop"] {
        assert!(stdout.contains(&format!("{stage} hook ran, state: {{")), "{stage}: {stdout}");
    }
}
