//! The configuration logic against real files: Debian's packaged
//! config.toml, kubeadm's, each release's `config default`, a version 1
//! one, Docker's (the CRI disabled), version 3, and the dumps each release
//! (1.6.20, 1.7.24, 2.1.9) made of them (tests/fixtures/containerd/RELEASE/,
//! recorded by tests/fixtures/containerd/record.sh).

use super::super::config::*;
use super::super::imports::{add_import, import_entry, remove_import};
use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/", $name))
    };
    ($release:literal, $name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/", $release, "/", $name))
    };
}

/// What one release made of each shape (record.sh), and the golden files
/// of what install adds there.
struct Release {
    name: &'static str,
    default_toml: &'static str,
    kubeadm_toml: &'static str,
    dump: fn(&str) -> &'static str,
}

macro_rules! release {
    ($name:literal) => {
        Release {
            name: $name,
            default_toml: fixture!($name, "default.toml"),
            kubeadm_toml: fixture!($name, "kubeadm.toml"),
            dump: |shape| match shape {
                "debian" => fixture!($name, "debian.dump"),
                "default" => fixture!($name, "default.dump"),
                "kubeadm" => fixture!($name, "kubeadm.dump"),
                "v1" => fixture!($name, "v1.dump"),
                "docker" => fixture!($name, "docker.dump"),
                "none" => fixture!($name, "none.dump"),
                other => panic!("no dump of {other}"),
            },
        }
    };
}

fn releases() -> [Release; 3] {
    [release!("1.6.20"), release!("1.7.24"), release!("2.1.9")]
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

/// Compares with the golden file `name` (below tests/fixtures/containerd/),
/// printing the whole text on a difference; `OAH_BLESS=1 cargo test --lib`
/// writes the files instead (then read them: `git diff tests/fixtures`).
fn golden(got: &str, name: &str) {
    let path = format!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/containerd/{}"), name);
    if std::env::var_os("OAH_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (OAH_BLESS=1 writes it)"));
    assert!(got == want, "{name} differs; got:\n{got}");
}

/// containerd 1.6.20's dump of Debian's file.
const DEBIAN_DUMP: &str = fixture!("1.6.20/debian.dump");

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

/// With Docker's `disabled_plugins = ["cri"]`, 2.x (which renames it to
/// the gRPC plugin's name and keeps the runtime plugin's section) got the
/// runtime declared and the check refused it; every release leaves it now.
#[test]
fn regression_2_x_with_the_cri_disabled_was_refused_not_left_alone() {
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
    // Without a dump, only a file that disables the CRI has a plan.
    let docker = parse("disabled_plugins = [\"cri\"]\n").unwrap();
    assert_eq!(plan(&docker, None, &want(&[])).unwrap(), Some(Plan::CriDisabled));
    assert_eq!(plan(&parse(fixture!("debian.toml")).unwrap(), None, &want(&[])).unwrap(), None);
    // With a dump, what each release shows: no section for the CRI's gRPC
    // plugin (2.1.9 renames 1.x's "cri" to it, and keeps the runtime one).
    for r in releases() {
        let dump = parse((r.dump)("docker")).unwrap();
        assert_eq!(plan(&docker, Some(&dump), &want(&[])).unwrap(), Some(Plan::CriDisabled), "{}", r.name);
    }
}

/// The release's runtime table for `name` in `text`, a dump or a block.
fn table_of(text: &str, name: &str) -> Table {
    parse(text).unwrap().runtime(name).unwrap().unwrap_or_else(|| panic!("no runtime {name} in:\n{text}"))
}

#[test]
fn debian_config_gets_the_default_runtime_as_each_release_dumps_it() {
    for r in releases() {
        let file = parse(fixture!("debian.toml")).unwrap();
        let dump_text = (r.dump)("debian");
        let dump = parse(dump_text).unwrap();
        let (text, default, declares) = added(plan(&file, Some(&dump), &want(&[])).unwrap().unwrap());
        assert_eq!((default.as_str(), declares), ("runc", true), "{}", r.name);
        golden(&text, &format!("{}/debian.block.toml", r.name));
        // runc exactly as dumped, every key; the runtime, runc but for the shim.
        let runc = table_of(dump_text, "runc");
        let block = format!("version = 2\n{text}");
        assert_eq!(runc.differs(&table_of(&block, "runc")), None, "{}", r.name);
        assert_eq!(for_shim(&runc, &want(&[])).differs(&table_of(&block, "oci-add-hooks")), None, "{}", r.name);
        // The block appended keeps every byte before it.
        let (whole, inserted) = insert(fixture!("debian.toml"), None, &text);
        assert_eq!(whole, format!("{}\n{text}", fixture!("debian.toml")));
        assert_eq!(inserted, format!("\n{text}"));
        parse(&whole).unwrap();
    }
}

/// A table of 1.6.20's built-in runc declared runc on 1.7 without its
/// `sandbox_mode = "podsandbox"`, which 1.7's config dump check then
/// refused on Debian's file, on no file, everywhere: the block now has runc
/// as the release dumps it, 2.x's `sandboxer` too.
#[test]
fn regression_1_7_lost_runcs_pod_sandbox_mode_to_a_table_of_1_6_built_ins() {
    let file = parse(fixture!("debian.toml")).unwrap();
    let cases = [
        ("1.6.20", "sandbox_mode", None),
        ("1.7.24", "sandbox_mode", Some("\"podsandbox\"")),
        ("2.1.9", "sandboxer", Some("'podsandbox'")),
    ];
    for (release, key, value) in cases {
        let r = releases().into_iter().find(|r| r.name == release).unwrap();
        let dump = parse((r.dump)("debian")).unwrap();
        let (text, _, _) = added(plan(&file, Some(&dump), &want(&[])).unwrap().unwrap());
        let block = format!("version = 2\n{text}");
        for runtime in ["runc", "oci-add-hooks"] {
            assert_eq!(table_of(&block, runtime).get(key).map(|e| e.raw.as_str()), value, "{release} {runtime}");
        }
    }
}

#[test]
fn kubeadm_and_default_configs_keep_runcs_table_for_the_new_runtime() {
    for r in releases() {
        for (shape, toml) in [("kubeadm", r.kubeadm_toml), ("default", r.default_toml)] {
            let file = parse(toml).unwrap();
            let dump_text = (r.dump)(shape);
            let pods = vec!["example.com/*".to_owned(), "other.org/gpu".to_owned()];
            let (text, default, declares) =
                added(plan(&file, Some(&parse(dump_text).unwrap()), &want(&pods)).unwrap().unwrap());
            assert_eq!((default.as_str(), declares), ("runc", false), "{} {shape}", r.name);
            golden(&text, &format!("{}/{shape}.block.toml", r.name));
            // A drop-in (version 3) is a file of its own; a block is put in one.
            let version = if file.version() == Version::V3 { "" } else { "version = 2\n" };
            let ours = table_of(&format!("{version}{text}"), "oci-add-hooks");
            assert_eq!(for_shim(&table_of(dump_text, "runc"), &want(&pods)).differs(&ours), None, "{} {shape}", r.name);
            let systemd = ours.tables.iter().find(|(k, _)| k == "options").unwrap().1.get("SystemdCgroup").unwrap();
            assert_eq!(systemd.raw, if shape == "kubeadm" { "true" } else { "false" }, "{} {shape}", r.name);
            assert_eq!(ours.get("pod_annotations").unwrap().raw, "[\"example.com/*\", \"other.org/gpu\"]");
        }
    }
}

#[test]
fn version_1_config_uses_the_short_plugin_name() {
    for r in releases() {
        let file = parse(fixture!("v1.toml")).unwrap();
        let (text, _, declares) =
            added(plan(&file, Some(&parse((r.dump)("v1")).unwrap()), &want(&[])).unwrap().unwrap());
        assert!(!declares, "{}", r.name);
        assert!(text.contains("\n[plugins.cri.containerd.runtimes.oci-add-hooks]\n"), "{text}");
        golden(&text, &format!("{}/v1.block.toml", r.name));
    }
    // 2.1.9 reads no version 1 runtimes: its dump has runc as built in, not
    // the file's SystemdCgroup = true, and it says why.
    let v1 = fixture!("2.1.9/v1.dump");
    let systemd = |t: &str| table_of(t, "runc").tables[0].1.get("SystemdCgroup").unwrap().raw.clone();
    assert_eq!((systemd(fixture!("1.7.24/v1.dump")), systemd(v1)), ("true".to_owned(), "false".to_owned()));
    assert!(fixture!("2.1.9/v1.warnings").contains("key=containerd"));
}

#[test]
fn no_config_creates_version_2_with_the_block() {
    for r in releases() {
        let dump = parse((r.dump)("none")).unwrap();
        let (block, _, declares) = added(plan(&parse(CREATED).unwrap(), Some(&dump), &want(&[])).unwrap().unwrap());
        assert!(declares, "{}", r.name);
        let (text, inserted) = insert(CREATED, None, &block);
        assert_eq!(inserted, format!("\n{block}"));
        assert!(text.starts_with("version = 2\n\n# BEGIN oci-add-hooks runtime oci-add-hooks:"), "{text}");
        assert_eq!(remove(&text, &find_block(&text, Some(&inserted), "oci-add-hooks")), CREATED);
    }
}

#[test]
fn refusals_name_the_field() {
    let e = |t: &str, d: &str, name: &str| {
        let (file, dump) = (parse(t).unwrap(), parse(d).unwrap());
        let w = Want { runtime: name, binary: BIN, pod_annotations: &[] };
        plan(&file, Some(&dump), &w).err().unwrap().to_string()
    };
    let theirs = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks]\n  runtime_type = \"io.containerd.runc.v2\"\n";
    assert_eq!(
        e(theirs, DEBIAN_DUMP, "oci-add-hooks"),
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.oci-add-hooks: already declared, and not by \
         install: not touched; remove it, or give --runtime-name another name"
    );
    assert_eq!(
        e("version = 2\n", DEBIAN_DUMP, "runc"),
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.default_runtime_name: \"runc\" is the runtime install would \
         declare: give --runtime-name another name"
    );
    // As 2.1.9 dumps a default that names no runtime: named in its format.
    let other = "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd]\n  default_runtime_name = 'crun'\n\
                 [plugins.'io.containerd.grpc.v1.cri']\n";
    assert!(e("version = 2\n", other, "oci-add-hooks").starts_with(
        "plugins.\"io.containerd.cri.v1.runtime\".containerd.default_runtime_name: \"crun\" names no runtime in \
         containerd's own config dump, so its CRI plugin does not load"
    ));
    let kata = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  default_runtime_name = \"kata\"\n\
                [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata]\n  runtime_type = \"io.containerd.kata.v2\"\n";
    assert!(e("version = 2\n", kata, "oci-add-hooks").starts_with(
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata.runtime_type: \"io.containerd.kata.v2\": \
         the default runtime is not the runc shim"
    ));
    let arrays = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  default_runtime_name = \"runc\"\n\
                  [[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.x]]\n  a = 1\n";
    assert_eq!(
        e("version = 2\n", arrays, "oci-add-hooks"),
        "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.x: an array of tables: not copied"
    );
}

/// Only runc's `options` were copied: a runc with
/// `privileged_without_host_devices` or `base_runtime_spec` (GPU and
/// hardened nodes set them) gave a handler that behaved unlike it.
#[test]
fn regression_only_runcs_options_were_copied_not_its_whole_table() {
    let dump = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  default_runtime_name = \"runc\"\n\
                [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n\
                \x20 base_runtime_spec = \"/etc/spec.json\"\n  privileged_without_host_devices = true\n\
                \x20 options = { SystemdCgroup = true, X = { a = 1 } }\n";
    let (text, _, _) =
        added(plan(&parse("version = 2\n").unwrap(), Some(&parse(dump).unwrap()), &want(&[])).unwrap().unwrap());
    let block = format!("version = 2\n{text}");
    let ours = table_of(&block, "oci-add-hooks");
    assert_eq!(for_shim(&table_of(dump, "runc"), &want(&[])).differs(&ours), None, "{text}");
    assert!(text.contains("\n  base_runtime_spec = \"/etc/spec.json\"\n  privileged_without_host_devices = true\n"));
    assert!(text.contains(".oci-add-hooks.options.X]\n      a = 1\n"), "{text}");
    // A difference is named by its key.
    let changed = block.replace("privileged_without_host_devices = true", "privileged_without_host_devices = false");
    assert_eq!(
        table_of(&block, "oci-add-hooks").differs(&table_of(&changed, "oci-add-hooks")).as_deref(),
        Some("privileged_without_host_devices = false, not true")
    );
}

#[test]
fn names_and_values_are_written_as_toml() {
    let pods = vec!["a.b/*".to_owned()];
    let w = Want { runtime: "hooks.v2", binary: "/opt/odd \"bin\"/oci-add-hooks", pod_annotations: &pods };
    let (text, _, _) =
        added(plan(&parse("version = 2\n").unwrap(), Some(&parse(DEBIAN_DUMP).unwrap()), &w).unwrap().unwrap());
    assert!(text.contains("\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.\"hooks.v2\"]\n"), "{text}");
    assert!(text.contains("\n    BinaryName = \"/opt/odd \\\"bin\\\"/oci-add-hooks\"\n"), "{text}");
    assert!(text.contains("\n  pod_annotations = [\"a.b/*\"]\n"), "{text}");
    let doc = parse(&insert("version = 2\n", None, &text).0).unwrap();
    let rt = doc.runtime("hooks.v2").unwrap().unwrap();
    assert_eq!(rt.get("runtime_type").unwrap().raw, "\"io.containerd.runc.v2\"");
    assert_eq!(quoted("a\"b\\c\u{1}\u{7f}"), "\"a\\\"b\\\\c\\u0001\\u007F\"");
}

#[test]
fn blocks_are_found_exactly_by_their_markers_and_removed_to_the_byte() {
    let dump = parse(DEBIAN_DUMP).unwrap();
    let (block, _, _) = added(plan(&parse("version = 2\n").unwrap(), Some(&dump), &want(&[])).unwrap().unwrap());
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
    let dump = parse(fixture!("2.1.9/v3.dump")).unwrap();
    let (text, default, declares) = added(plan(&file, Some(&dump), &want(&pods)).unwrap().unwrap());
    assert_eq!((default.as_str(), declares), ("runc", false));
    golden(&text, "v3/99-oci-add-hooks.toml");
    assert!(text.starts_with(HEADER));
    let entry = import_entry("/etc/containerd");
    assert_eq!(entry, "/etc/containerd/conf.d/*.toml");
    let dropin = "/etc/containerd/conf.d/99-oci-add-hooks.toml";
    let with = add_import(root, "/etc/containerd", dropin, &entry).unwrap().unwrap();
    golden(&with, "v3/config.imports.toml");
    assert_eq!(remove_import(&with, &entry, false).unwrap().unwrap(), root);
    // The drop-in's version is its root's, never above it: containerd 2.3.0
    // to 2.3.4 refuse an import whose version is above the root file's
    // (containerd PR 12891, "add check on version of drop in configs").
    assert_eq!(parse(&text).unwrap().version(), file.version());
    // containerd 2.2's default config imports conf.d already (PR 12323).
    let default = fixture!("v3/config.default-imports.toml");
    assert_eq!(add_import(default, "/etc/containerd", dropin, &entry).unwrap(), None);
    // Nothing in the root declares runc: the drop-in has it as dumped.
    let none = parse(fixture!("2.1.9/none.dump")).unwrap();
    let (bare, _, _) = added(plan(&parse(default).unwrap(), Some(&none), &want(&[])).unwrap().unwrap());
    assert!(bare.contains("\n  sandboxer = 'podsandbox'\n"), "{bare}");
    assert!(bare.contains("\n    BinaryName = \"/usr/local/bin/oci-add-hooks\"\n"), "{bare}");
}
