//! The configuration logic against real files: Debian's packaged
//! config.toml, a kubeadm-style one, a version 1 one, and the dumps
//! containerd 1.6.20 made of them (tests/fixtures/containerd/, from the
//! issue's measurements); version 3 against golden files written from
//! containerd 2.x's documented format (no 2.x runs here).

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/", $name))
    };
}

const BIN: &str = "/usr/local/bin/oci-add-hooks";

fn want(pod_annotations: &[String]) -> Want<'_> {
    Want { runtime: "oci-add-hooks", binary: BIN, pod_annotations }
}

fn added(plan: Plan) -> (String, String, bool) {
    match plan {
        Plan::Add { text, default, declares_default } => (text, default, declares_default),
        Plan::CriDisabled => panic!("CRI disabled"),
    }
}

/// Compares with a golden file, printing the whole text on a difference;
/// `OAH_BLESS=1 cargo test --lib` writes the files instead (then read
/// them: `git diff tests/fixtures`).
fn golden(got: &str, want: &str, name: &str) {
    if std::env::var_os("OAH_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/");
        std::fs::write(format!("{path}{name}"), got).unwrap();
        return;
    }
    assert!(got == want, "{name} differs; got:\n{got}");
}

#[test]
fn versions_and_errors_by_field() {
    assert_eq!(parse("").unwrap().version(), Version::V1);
    assert_eq!(parse("# nothing\n").unwrap().version(), Version::V1);
    assert_eq!(parse("version = 1").unwrap().version(), Version::V1);
    assert_eq!(parse(fixture!("debian.toml")).unwrap().version(), Version::V2);
    assert_eq!(parse("version = 3\n").unwrap().version(), Version::V3);
    assert_eq!(parse("version = 4\n").err().unwrap().to_string(), "version: 4: containerd knows 1, 2 and 3");
    assert_eq!(parse("version = \"2\"\n").err().unwrap().to_string(), "version: \"2\": containerd knows 1, 2 and 3");
    let e = parse("version = 2\n[plugins\n").err().unwrap().to_string();
    assert!(e.starts_with("not valid TOML (line 2, column "), "{e}");
    assert!(e.ends_with("); containerd would not start with it either"), "{e}");
}

#[test]
fn the_cri_is_disabled_by_the_name_each_version_knows() {
    let disabled = |t: &str| parse(t).unwrap().cri_disabled();
    // Docker's containerd.io ships the first.
    assert!(disabled("disabled_plugins = [\"cri\"]\n"));
    // Listed, but a version 1 file still loads CRI (FINDINGS 1g).
    assert!(!disabled("disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"));
    assert!(disabled("version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"));
    assert!(!disabled("version = 2\ndisabled_plugins = [\"io.containerd.internal.v1.opt\"]\n"));
    assert!(disabled("version = 3\ndisabled_plugins = ['io.containerd.cri.v1.runtime']\n"));
    assert!(disabled("version = 3\ndisabled_plugins = ['io.containerd.grpc.v1.cri']\n"));
    assert!(!disabled(fixture!("debian.toml")));
    let file = parse("disabled_plugins = [\"cri\"]\n").unwrap();
    assert_eq!(plan(&file, None, &want(&[])).unwrap(), Plan::CriDisabled);
    // With a dump, what containerd shows: no CRI section, no CRI.
    let dump =
        parse("version = 2\ndisabled_plugins = [\"cri\"]\n[plugins.\"io.containerd.internal.v1.opt\"]\n").unwrap();
    assert_eq!(plan(&parse("").unwrap(), Some(&dump), &want(&[])).unwrap(), Plan::CriDisabled);
}

#[test]
fn debian_config_gets_runc_as_built_in_and_the_runtime_with_its_options() {
    let file = parse(fixture!("debian.toml")).unwrap();
    let dump = parse(fixture!("debian.dump")).unwrap();
    let (text, default, declares) = added(plan(&file, Some(&dump), &want(&[])).unwrap());
    assert_eq!((default.as_str(), declares), ("runc", true));
    golden(&text, fixture!("debian.block"), "debian.block");
    // Without a containerd to dump, the built-in runc from data: the same
    // block, so the data is what 1.6.20 shows.
    let (without, _, _) = added(plan(&file, None, &want(&[])).unwrap());
    assert_eq!(without, text);
    // The block appended keeps every byte before it.
    let (whole, inserted) = insert(fixture!("debian.toml"), None, &text);
    assert_eq!(whole, format!("{}\n{text}", fixture!("debian.toml")));
    assert_eq!(inserted, format!("\n{text}"));
    parse(&whole).unwrap();
}

#[test]
fn kubeadm_config_keeps_systemd_cgroup_for_the_new_runtime() {
    let file = parse(fixture!("kubeadm.toml")).unwrap();
    let dump = parse(fixture!("kubeadm.dump")).unwrap();
    let pods = vec!["example.com/*".to_owned(), "other.org/gpu".to_owned()];
    let (text, default, declares) = added(plan(&file, Some(&dump), &want(&pods)).unwrap());
    assert_eq!((default.as_str(), declares), ("runc", false));
    golden(&text, fixture!("kubeadm.block"), "kubeadm.block");
    let (without, _, _) = added(plan(&file, None, &want(&pods)).unwrap());
    assert_eq!(without, text);
    parse(&insert(fixture!("kubeadm.toml"), None, &text).0).unwrap();
}

#[test]
fn version_1_config_uses_the_short_plugin_name() {
    let file = parse(fixture!("v1.toml")).unwrap();
    let dump = parse(fixture!("v1.dump")).unwrap();
    let (text, _, declares) = added(plan(&file, Some(&dump), &want(&[])).unwrap());
    assert!(!declares);
    golden(&text, fixture!("v1.block"), "v1.block");
    // An empty (version 1) file: the short name, and runc declared.
    let (text, _, declares) = added(plan(&parse("").unwrap(), None, &want(&[])).unwrap());
    assert!(declares);
    assert!(text.contains("\n[plugins.cri.containerd.runtimes.runc]\n"), "{text}");
    assert!(text.contains("\n[plugins.cri.containerd.runtimes.oci-add-hooks]\n"), "{text}");
}

#[test]
fn no_config_creates_version_2_with_the_block() {
    let (block, _, _) = added(plan(&parse(CREATED).unwrap(), None, &want(&[])).unwrap());
    let (text, inserted) = insert(CREATED, None, &block);
    assert_eq!(inserted, format!("\n{block}"));
    assert!(text.starts_with("version = 2\n\n# BEGIN oci-add-hooks runtime oci-add-hooks:"), "{text}");
    assert_eq!(remove(&text, &find_block(&text, Some(&inserted), "oci-add-hooks")), CREATED);
}

#[test]
fn refusals_name_the_field() {
    let e = |t: &str, d: Option<&str>, name: &str| {
        let file = parse(t).unwrap();
        let dump = d.map(|d| parse(d).unwrap());
        let w = Want { runtime: name, binary: BIN, pod_annotations: &[] };
        plan(&file, dump.as_ref(), &w).err().unwrap().to_string()
    };
    let theirs = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks]\n  runtime_type = \"io.containerd.runc.v2\"\n";
    assert_eq!(
        e(theirs, None, "oci-add-hooks"),
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks: already declared, and not by \
         install: not touched; remove it, or give --runtime-name another name"
    );
    assert_eq!(
        e("version = 2\n", None, "runc"),
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.default_runtime_name: \"runc\" is the runtime install would \
         declare: give --runtime-name another name"
    );
    let other = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.crun]\n  runtime_type = \"io.containerd.runc.v2\"\n";
    assert!(e(other, None, "oci-add-hooks").starts_with(
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.default_runtime_name: \"runc\" names no runtime in \
         containerd.runtimes, so containerd's CRI plugin does not load"
    ));
    let kata = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  default_runtime_name = \"kata\"\n\
                [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata]\n  runtime_type = \"io.containerd.kata.v2\"\n";
    assert!(e(kata, None, "oci-add-hooks").starts_with(
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata.runtime_type: \"io.containerd.kata.v2\": \
         the default runtime is not the runc shim"
    ));
    let nested =
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  X = { a = 1 }\n";
    assert_eq!(
        e(nested, None, "oci-add-hooks"),
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options.X: a table: only plain values are copied"
    );
}

#[test]
fn names_and_values_are_written_as_toml() {
    let pods = vec!["a.b/*".to_owned()];
    let w = Want { runtime: "hooks.v2", binary: "/opt/odd \"bin\"/oci-add-hooks", pod_annotations: &pods };
    let (text, _, _) = added(plan(&parse("version = 2\n").unwrap(), None, &w).unwrap());
    assert!(text.contains("\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.\"hooks.v2\"]\n"), "{text}");
    assert!(text.contains("\n    BinaryName = \"/opt/odd \\\"bin\\\"/oci-add-hooks\"\n"), "{text}");
    assert!(text.contains("\n  pod_annotations = [\"a.b/*\"]\n"), "{text}");
    let doc = parse(&insert("version = 2\n", None, &text).0).unwrap();
    let rt = doc.runtime("hooks.v2").unwrap().unwrap();
    assert_eq!(rt.runtime_type.as_deref(), Some("io.containerd.runc.v2"));
    assert_eq!(quoted("a\"b\\c\u{1}\u{7f}"), "\"a\\\"b\\\\c\\u0001\\u007F\"");
}

#[test]
fn blocks_are_found_exactly_by_their_markers_and_removed_to_the_byte() {
    let (block, _, _) = added(plan(&parse("version = 2\n").unwrap(), None, &want(&[])).unwrap());
    for base in ["version = 2\n", "version = 2", "version = 2\n\n", "version = 2\n# last line, no newline"] {
        let (text, inserted) = insert(base, None, &block);
        let found = find_block(&text, Some(&inserted), "oci-add-hooks");
        assert_eq!(found, Found::Recorded(base.len()..text.len()), "{base:?}");
        assert_eq!(remove(&text, &found), base);
        parse(&text).unwrap();
    }
    // Edited inside the block: found by its marker lines; something added
    // after it stays, and a new block goes back where it was.
    let (text, inserted) = insert("version = 2\n", None, &block);
    let edited = text.replace("SystemdCgroup = false", "SystemdCgroup = true") + "[metrics]\n  address = \"\"\n";
    let found = find_block(&edited, Some(&inserted), "oci-add-hooks");
    let at = "version = 2\n\n".len();
    assert!(matches!(&found, Found::Block(r) if r.start == at), "{found:?}");
    let base = remove(&edited, &found);
    assert_eq!(base, "version = 2\n\n[metrics]\n  address = \"\"\n");
    assert_eq!(insert(&base, Some((at, "")), &block).0, text.clone() + "[metrics]\n  address = \"\"\n");
    // Another runtime's block is not ours.
    assert_eq!(find_block(&text, None, "other"), Found::Nothing);
    assert_eq!(find_block("version = 2\n", Some(&inserted), "oci-add-hooks"), Found::Nothing);
}

/// The runtime's tables are found in the file's order, whatever the
/// order toml_edit keeps them in: here its options come first, another
/// runtime between.
#[test]
fn without_a_block_tables_out_of_order_are_each_removed() {
    let t = "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.";
    let text = format!(
        "version = 2\n{t}oci-add-hooks.options]\n  BinaryName = \"/b\"\n{t}runc]\n  runtime_type = \"r\"\n\
         {t}oci-add-hooks]\n  runtime_type = \"io.containerd.runc.v2\"\n[metrics]\n  address = \"\"\n"
    );
    let found = find_tables(&parse(&text).unwrap(), "oci-add-hooks").unwrap();
    assert_eq!(
        remove(&text, &found),
        format!("version = 2\n{t}runc]\n  runtime_type = \"r\"\n[metrics]\n  address = \"\"\n")
    );
}

#[test]
fn without_a_block_uninstall_removes_just_the_runtimes_tables() {
    let text = "version = 2\n\
                [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n\
                [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks]\n  runtime_type = \"io.containerd.runc.v2\"\n\n\
                \x20 [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks.options]\n    BinaryName = \"/b\"\n\n\
                # the metrics\n[metrics]\n  address = \"\"\n";
    let found = find_tables(&parse(text).unwrap(), "oci-add-hooks").unwrap();
    assert_eq!(
        remove(text, &found),
        "version = 2\n\
         [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n\
         # the metrics\n[metrics]\n  address = \"\"\n"
    );
    assert_eq!(find_tables(&parse(text).unwrap(), "other").unwrap(), Found::Nothing);
    let inline = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes]\n  oci-add-hooks = { runtime_type = \"x\" }\n";
    assert_eq!(
        find_tables(&parse(inline).unwrap(), "oci-add-hooks").err().unwrap().to_string(),
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks: not declared as [tables], so not \
         removed: remove it by hand"
    );
}

#[test]
fn version_3_gets_a_drop_in_and_an_import() {
    let root = fixture!("v3/config.toml");
    let file = parse(root).unwrap();
    let pods = vec!["example.com/*".to_owned()];
    let (text, default, declares) = added(plan(&file, None, &want(&pods)).unwrap());
    assert_eq!((default.as_str(), declares), ("runc", false));
    golden(&text, fixture!("v3/99-oci-add-hooks.toml"), "v3/99-oci-add-hooks.toml");
    assert!(text.starts_with(HEADER));
    let entry = import_entry("/etc/containerd");
    assert_eq!(entry, "/etc/containerd/conf.d/*.toml");
    let dropin = "/etc/containerd/conf.d/99-oci-add-hooks.toml";
    let with = add_import(root, "/etc/containerd", dropin, &entry).unwrap().unwrap();
    golden(&with, fixture!("v3/config.imports.toml"), "v3/config.imports.toml");
    assert_eq!(remove_import(&with, &entry).unwrap().unwrap(), root);
    // containerd 2.x's recent defaults import conf.d already (PR 12323).
    let default = fixture!("v3/config.default-imports.toml");
    assert_eq!(add_import(default, "/etc/containerd", dropin, &entry).unwrap(), None);
    // Nothing in the root declares runc: the drop-in's options are empty.
    let (bare, _, _) = added(plan(&parse(default).unwrap(), None, &want(&[])).unwrap());
    assert!(bare.ends_with(".options]\n    BinaryName = \"/usr/local/bin/oci-add-hooks\"\n"), "{bare}");
}

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
        let back = remove_import(after, e).unwrap().unwrap();
        parse(&back).unwrap();
    }
    assert_eq!(
        remove_import("version = 3\nimports = [\"/a.toml\", \"/etc/containerd/conf.d/*.toml\"]\n", e).unwrap().unwrap(),
        "version = 3\nimports = [\"/a.toml\"]\n"
    );
    assert_eq!(
        remove_import("version = 3\nimports = [\"/etc/containerd/conf.d/*.toml\", \"/a.toml\"]\n", e).unwrap().unwrap(),
        "version = 3\nimports = [\"/a.toml\"]\n"
    );
    assert_eq!(remove_import("version = 3\n", e).unwrap(), None);
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
