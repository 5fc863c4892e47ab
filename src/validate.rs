//! The report `oci-add-hooks validate` prints: what the shim would add,
//! and from which file.
//!
//! Owns the text an operator reads before rolling a hook file out: the
//! configuration source, the hook files in the order they apply, and per
//! stage the hooks that would be added; for a container, only those whose
//! `when` it meets, and for every other one the conditions it fails. Pure:
//! `lib` loads the files and the spec through the shim's own code and hands
//! over `hooks::select`'s decision, so the report cannot disagree with a run.
//! With `--engine crio`, it shows instead the hooks.d files `oci_hooks`
//! converts the configuration into, byte for byte as install writes them.
//! It must never read a file or decide anything itself.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::args::HOOK_CONFIG_PATH;
use crate::hook_files::{Source, CONFIG_ENV};
use crate::hooks::{HookFile, Selected};
use crate::json::Json;
use crate::oci_hooks::Converted;
use crate::spec::Stage;

/// The container a report is for: its spec's path and its `hooks` as the
/// engine wrote them.
pub(crate) struct Container<'a> {
    pub(crate) path: &'a Path,
    pub(crate) hooks: &'a Value,
}

/// The report, as printed. `selected` is `hooks::select`'s answer for
/// `files` and the container, if there is one.
pub(crate) fn report(
    source: &Source,
    files: &[HookFile],
    selected: &[Selected],
    container: Option<Container>,
) -> String {
    let mut out = configuration(source);
    if files.is_empty() {
        out.push_str("hook files: none\n");
    } else {
        out.push_str("hook files, in the order they apply:\n");
        for f in files {
            let n = f.hooks.len();
            let _ = writeln!(out, "  {} ({n} hook{})", f.path.display(), if n == 1 { "" } else { "s" });
        }
    }
    if let Some(c) = &container {
        let _ = writeln!(out, "container: {}", c.path.display());
    }

    let (added, skipped): (Vec<&Selected>, Vec<&Selected>) = selected.iter().partition(|s| s.applies());
    let mut any = false;
    for stage in Stage::ALL {
        let in_stage: Vec<_> = added.iter().filter(|s| s.hook.stages.contains(&stage)).collect();
        if in_stage.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(out, "{stage}:");
        let present = container.as_ref().map_or(&[][..], |c| present(c.hooks, stage));
        for (i, s) in in_stage.iter().enumerate() {
            let _ = writeln!(out, "  {}", Json(&s.hook.hook));
            let _ = writeln!(out, "    from {}", s.file.display());
            if container.is_none() {
                if let Some(w) = &s.hook.when {
                    let _ = writeln!(out, "    when {w}");
                }
            }
            // What `spec::merge` does with a hook that is already there.
            if present.contains(&s.hook.hook) {
                out.push_str("    already in the spec: not added again\n");
            } else if in_stage[..i].iter().any(|earlier| earlier.hook.hook == s.hook.hook) {
                out.push_str("    same as a hook above: added once\n");
            }
        }
    }
    if !any {
        out.push_str("no hooks would be added\n");
    }
    if !skipped.is_empty() {
        out.push_str("not added, their conditions are not met:\n");
        for s in skipped {
            let stages: Vec<&str> = s.hook.stages.iter().map(|s| s.name()).collect();
            let _ = writeln!(out, "  {} ({})", Json(&s.hook.hook), stages.join(", "));
            let _ = writeln!(out, "    from {}", s.file.display());
            for u in &s.unmet {
                let _ = writeln!(out, "    {u}");
            }
        }
    }
    out
}

/// The first line: where the hook configuration comes from.
fn configuration(source: &Source) -> String {
    let paths: Vec<String> = source.paths().iter().map(|p| p.display().to_string()).collect();
    let from = match source {
        Source::Options(_) => HOOK_CONFIG_PATH,
        Source::Env(_) => CONFIG_ENV,
        Source::Default(_) => "the default",
    };
    format!("hook configuration: {} ({from})\n", paths.join(", "))
}

/// What `validate --engine crio` prints: the hooks.d files CRI-O and podman
/// would read, each with its name, where it comes from and its bytes, and
/// the hooks left out because the shim adds them once.
pub(crate) fn crio_report(source: &Source, converted: &Converted) -> String {
    let mut out = configuration(source);
    if converted.files.is_empty() {
        out.push_str("hooks.d files for CRI-O and podman: none\n");
    } else {
        out.push_str("hooks.d files for CRI-O and podman, in the order they apply (install --crio writes them):\n");
    }
    for f in &converted.files {
        let _ = writeln!(out, "  {}", f.name);
        let _ = writeln!(out, "    from {}", f.from());
        for line in String::from_utf8_lossy(&f.bytes).lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    if !converted.left_out.is_empty() {
        out.push_str("left out, as the shim adds each once:\n");
        for l in &converted.left_out {
            let _ = writeln!(out, "  {} ({}): the same hook as {}", l.what, l.stage, l.same_as);
        }
    }
    out
}

/// The hooks a spec's `hooks` already has in `stage`.
fn present(hooks: &Value, stage: Stage) -> &[Value] {
    hooks.get(stage.name()).and_then(Value::as_array).map_or(&[][..], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{hooks, spec};
    use std::path::PathBuf;

    fn file(path: &str, text: &str) -> HookFile {
        hooks::parse(Path::new(path), text.as_bytes()).unwrap()
    }

    fn files() -> Vec<HookFile> {
        vec![
            file(
                "/h/10-all.json",
                r#"{"hooks": {"prestart": [{"path": "/bin/all"}], "poststop": [{"path": "/bin/all"}]}}"#,
            ),
            file(
                "/h/20-gpu.json",
                r#"{"version": "1.0.0", "hook": {"path": "/bin/gpu", "args": ["gpu", "prestart"]},
                    "when": {"annotations": {"^gpu$": "^yes$"}}, "stages": ["prestart", "createRuntime"]}"#,
            ),
            file(
                "/h/30-init.json",
                r#"{"version": "1.0.0", "hook": {"path": "/bin/all"}, "when": {"commands": ["/init$"], "always": true}, "stages": ["prestart"]}"#,
            ),
        ]
    }

    #[test]
    fn without_a_spec_every_hook_with_its_file_and_conditions() {
        let source = Source::Default(PathBuf::from("/h"));
        let files = files();
        let got = report(&source, &files, &hooks::select(&files, None).unwrap(), None);
        assert_eq!(
            got,
            "hook configuration: /h (the default)\n\
             hook files, in the order they apply:\n  /h/10-all.json (2 hooks)\n  /h/20-gpu.json (1 hook)\n  /h/30-init.json (1 hook)\n\
             prestart:\n\
             \x20 {\"path\":\"/bin/all\"}\n    from /h/10-all.json\n\
             \x20 {\"path\":\"/bin/gpu\",\"args\":[\"gpu\",\"prestart\"]}\n    from /h/20-gpu.json\n    when {\"annotations\":{\"^gpu$\":\"^yes$\"}}\n\
             \x20 {\"path\":\"/bin/all\"}\n    from /h/30-init.json\n    when {\"always\":true,\"commands\":[\"/init$\"]}\n    same as a hook above: added once\n\
             createRuntime:\n\
             \x20 {\"path\":\"/bin/gpu\",\"args\":[\"gpu\",\"prestart\"]}\n    from /h/20-gpu.json\n    when {\"annotations\":{\"^gpu$\":\"^yes$\"}}\n\
             poststop:\n\
             \x20 {\"path\":\"/bin/all\"}\n    from /h/10-all.json\n"
        );
    }

    #[test]
    fn with_a_spec_only_matching_hooks_and_why_the_others_are_not() {
        let files = files();
        let bytes = br#"{"annotations": {"gpu": "no"}, "process": {"args": ["/bin/sh"]}, "hooks": {"poststop": [{"path": "/bin/all"}]}}"#;
        let spec = spec::parse(bytes).unwrap();
        let selected = hooks::select(&files, Some(&spec)).unwrap();
        let c = Container { path: Path::new("/b/config.json"), hooks: spec.hooks() };
        let got = report(&Source::Env(PathBuf::from("/h")), &files, &selected, Some(c));
        assert_eq!(
            got,
            "hook configuration: /h (OCI_ADD_HOOKS_CONFIG)\n\
             hook files, in the order they apply:\n  /h/10-all.json (2 hooks)\n  /h/20-gpu.json (1 hook)\n  /h/30-init.json (1 hook)\n\
             container: /b/config.json\n\
             prestart:\n\
             \x20 {\"path\":\"/bin/all\"}\n    from /h/10-all.json\n\
             poststop:\n\
             \x20 {\"path\":\"/bin/all\"}\n    from /h/10-all.json\n    already in the spec: not added again\n\
             not added, their conditions are not met:\n\
             \x20 {\"path\":\"/bin/gpu\",\"args\":[\"gpu\",\"prestart\"]} (prestart, createRuntime)\n    from /h/20-gpu.json\n\
             \x20   when.annotations: no annotation has a key matching \"^gpu$\" and a value matching \"^yes$\"\n\
             \x20 {\"path\":\"/bin/all\"} (prestart)\n    from /h/30-init.json\n\
             \x20   when.commands: process.args[0] \"/bin/sh\" matches none of \"/init$\"\n"
        );
    }

    #[test]
    fn for_crio_the_files_as_written_and_what_was_left_out() {
        let files = vec![
            file("/h/10-a.json", r#"{"hooks": {"poststop": [{"path": "/bin/a"}, {"path": "/bin/a"}]}}"#),
            file(
                "/h/20-b.json",
                r#"{"version": "1.0.0", "hook": {"path": "/bin/b"}, "when": {"commands": ["sh$"]}, "stages": ["prestart"]}"#,
            ),
        ];
        let converted = crate::oci_hooks::convert(&files).unwrap();
        let got = crio_report(&Source::Default(PathBuf::from("/h")), &converted);
        assert_eq!(
            got,
            "hook configuration: /h (the default)\n\
             hooks.d files for CRI-O and podman, in the order they apply (install --crio writes them):\n\
             \x20 0001-10-a-poststop-0.json\n    from /h/10-a.json hooks.poststop[0]\n\
             \x20   {\n      \"version\": \"1.0.0\",\n      \"hook\": {\n        \"path\": \"/bin/a\"\n      },\n\
             \x20     \"when\": {\n        \"always\": true\n      },\n      \"stages\": [\n        \"poststop\"\n      ]\n    }\n\
             \x20 0002-20-b.json\n    from /h/20-b.json\n\
             \x20   {\n      \"version\": \"1.0.0\",\n      \"hook\": {\n        \"path\": \"/bin/b\"\n      },\n\
             \x20     \"when\": {\n        \"commands\": [\n          \"sh$\"\n        ]\n      },\n\
             \x20     \"stages\": [\n        \"prestart\"\n      ]\n    }\n\
             left out, as the shim adds each once:\n\
             \x20 /h/10-a.json hooks.poststop[1] (poststop): the same hook as /h/10-a.json hooks.poststop[0]\n"
        );
        let none = crio_report(&Source::Options(vec!["/e".into()]), &Converted::default());
        assert_eq!(none, "hook configuration: /e (--hook-config-path)\nhooks.d files for CRI-O and podman: none\n");
    }

    #[test]
    fn nothing_configured() {
        let got = report(&Source::Options(vec!["/a".into(), "/b".into()]), &[], &[], None);
        assert_eq!(got, "hook configuration: /a, /b (--hook-config-path)\nhook files: none\nno hooks would be added\n");
    }
}
