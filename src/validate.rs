//! `oci-add-hooks validate`: what the shim would add, and from which file.
//!
//! Owns the report an operator reads before rolling a hook file out: the
//! configuration source, the hook files in the order they apply, and per
//! stage the hooks that would be added; with `--spec`, only those whose
//! `when` the container meets, and for every other one the conditions it
//! fails. It loads through the shim's own code (`source`, `hook_files::load`,
//! `when::facts`), so it cannot disagree with the shim, and it never writes
//! a file or runs a runtime.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use crate::hook_files::{Source, CONFIG_ENV};
use crate::hooks::{ConfiguredHook, HookFile, Stage};
use crate::{args, hook_files, spec, when, Error};

/// Runs `validate` with the arguments after the word `validate`.
pub fn run(args: Vec<OsString>, argv0: &OsStr) -> Result<ExitCode, Error> {
    let args = args::parse_validate(args).map_err(Error::Args)?;
    let source = crate::source(args.hook_config_paths, argv0);
    let files = hook_files::load(&source).map_err(Error::Hooks)?;
    let out = match &args.spec {
        None => report(&source, &files, None),
        Some(path) => {
            let bytes = crate::read_spec(path)?;
            let spec = spec::parse(&bytes)
                .and_then(|s| s.view(&[when::SPEC_FIELDS, &["hooks"]].concat()))
                .map_err(|err| Error::Spec { path: path.clone(), err })?;
            let container = when::facts(files.iter().flat_map(|f| &f.hooks), &spec)
                .map_err(|err| Error::Spec { path: path.clone(), err })?;
            report(&source, &files, Some(Container { path, spec: &spec, facts: container.as_ref() }))
        }
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The container a report is for.
pub struct Container<'a> {
    pub path: &'a Path,
    pub spec: &'a Value,
    /// None when no hook has conditions.
    pub facts: Option<&'a when::Container<'a>>,
}

/// The report, as printed.
pub fn report(source: &Source, files: &[HookFile], container: Option<Container>) -> String {
    let mut out = String::new();
    let paths: Vec<String> = source.paths().iter().map(|p| p.display().to_string()).collect();
    let from = match source {
        Source::Options(_) => args::HOOK_CONFIG_PATH,
        Source::Env(_) => CONFIG_ENV,
        Source::Default(_) => "the default",
    };
    let _ = writeln!(out, "hook configuration: {} ({from})", paths.join(", "));
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

    let facts = container.as_ref().and_then(|c| c.facts);
    let mut skipped: Vec<(&Path, &ConfiguredHook, Vec<when::Unmet>)> = Vec::new();
    let mut added: Vec<(&Path, &ConfiguredHook)> = Vec::new();
    for f in files {
        for h in &f.hooks {
            let unmet = when::unmet(h, facts);
            if unmet.is_empty() {
                added.push((&f.path, h));
            } else {
                skipped.push((&f.path, h, unmet));
            }
        }
    }

    let mut any = false;
    for stage in Stage::ALL {
        let in_stage: Vec<_> = added.iter().filter(|(_, h)| h.stages.contains(&stage)).collect();
        if in_stage.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(out, "{stage}:");
        let present = container.as_ref().map_or(&[][..], |c| present(c.spec, stage));
        for (i, (file, h)) in in_stage.iter().enumerate() {
            let _ = writeln!(out, "  {}", crate::spec::Json(&h.hook));
            let _ = writeln!(out, "    from {}", file.display());
            if container.is_none() {
                if let Some(w) = &h.when {
                    let _ = writeln!(out, "    when {w}");
                }
            }
            // What `spec::merge` does with a hook that is already there.
            if present.contains(&h.hook) {
                out.push_str("    already in the spec: not added again\n");
            } else if in_stage[..i].iter().any(|(_, earlier)| earlier.hook == h.hook) {
                out.push_str("    same as a hook above: added once\n");
            }
        }
    }
    if !any {
        out.push_str("no hooks would be added\n");
    }
    if !skipped.is_empty() {
        out.push_str("not added, their conditions are not met:\n");
        for (file, h, unmet) in skipped {
            let stages: Vec<&str> = h.stages.iter().map(|s| s.name()).collect();
            let _ = writeln!(out, "  {} ({})", crate::spec::Json(&h.hook), stages.join(", "));
            let _ = writeln!(out, "    from {}", file.display());
            for u in unmet {
                let _ = writeln!(out, "    {u}");
            }
        }
    }
    out
}

/// The hooks the spec already has in `stage`.
fn present(spec: &Value, stage: Stage) -> &[Value] {
    spec.get("hooks").and_then(|h| h.get(stage.name())).and_then(Value::as_array).map_or(&[][..], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks;
    use serde_json::json;
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
        let got = report(&source, &files(), None);
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
        let spec = json!({"annotations": {"gpu": "no"}, "process": {"args": ["/bin/sh"]}, "hooks": {"poststop": [{"path": "/bin/all"}]}});
        let facts = when::facts(files.iter().flat_map(|f| &f.hooks), &spec).unwrap();
        let c = Container { path: Path::new("/b/config.json"), spec: &spec, facts: facts.as_ref() };
        let got = report(&Source::Env(PathBuf::from("/h")), &files, Some(c));
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
    fn nothing_configured() {
        let got = report(&Source::Options(vec!["/a".into(), "/b".into()]), &[], None);
        assert_eq!(got, "hook configuration: /a, /b (--hook-config-path)\nhook files: none\nno hooks would be added\n");
    }
}
