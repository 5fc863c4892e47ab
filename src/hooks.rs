//! Hook configuration files: their format, and the rules a hook must meet.
//!
//! Owns parsing and validating one hook file's bytes into hooks per
//! runtime-spec stage, in either of two formats: the original
//! `{"hooks": {"<stage>": [<hook>...]}}`, and the hooks.d 1.0.0 format of
//! containers/common (`{"version": "1.0.0", "hook": {...}, "when": {...},
//! "stages": [...]}`), told apart by the top-level `version` key. Pure: it
//! never opens a file (`hook_files` reads them and checks who may write
//! them) and never looks at a container's spec (`when` evaluates the
//! conditions).
//! Every error names the file, the exact field and why, because a hook that
//! is silently dropped (a `preStart` typo) is worse than a failed start.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use crate::json::FieldError;
use crate::json::Json;
use crate::spec::{Spec, SpecError, Stage};
use crate::when::{self, Container, Unmet, When};

/// The one hooks.d version there is (containers/common `pkg/hooks/1.0.0`).
pub const HOOKS_D_VERSION: &str = "1.0.0";

/// One hook as configured: the runtime-spec hook object, the stages it
/// is added to, and the containers it applies to.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfiguredHook {
    pub stages: Vec<Stage>,
    /// The hook as it goes into `config.json`: `path`, then `args`, `env`
    /// and `timeout` when given.
    pub hook: Value,
    /// A hooks.d file's conditions; None (the original format): every
    /// container.
    pub(crate) when: Option<When>,
}

/// The hooks of one file, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct HookFile {
    pub path: PathBuf,
    pub hooks: Vec<ConfiguredHook>,
}

/// A hook file that cannot be used, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct HookError {
    pub file: PathBuf,
    /// The field at fault, as a path from the top (`hooks.prestart[1].path`).
    pub field: Option<String>,
    pub why: String,
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.why)
    }
}

impl std::error::Error for HookError {}

/// A field error of this file, with the file named.
fn in_file(e: FieldError, file: &Path) -> HookError {
    HookError { file: file.to_owned(), field: Some(e.field), why: e.why }
}

/// Parses one hook file, in either format.
pub fn parse(file: &Path, bytes: &[u8]) -> Result<HookFile, HookError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| HookError {
        file: file.to_owned(),
        field: None,
        why: format!("not valid JSON: {e}"),
    })?;
    let hooks = parse_value(&doc).map_err(|e| in_file(e, file))?;
    Ok(HookFile { path: file.to_owned(), hooks })
}

fn parse_value(doc: &Value) -> Result<Vec<ConfiguredHook>, FieldError> {
    let Value::Object(top) = doc else {
        return Err(FieldError::new("(top level)", "must be a JSON object"));
    };
    match top.get("version") {
        None => parse_original(top),
        Some(Value::String(v)) if v == HOOKS_D_VERSION => Ok(vec![parse_hooks_d(top)?]),
        Some(v) => Err(FieldError::new(
            "version",
            format!(
                "{} is not supported: a hooks.d file has \"version\": \"{HOOKS_D_VERSION}\", \
                 and a {{\"hooks\": ...}} file has no version",
                Json(v)
            ),
        )),
    }
}

/// The original format: `{"hooks": {"<stage>": [<hook>...]}}`.
fn parse_original(top: &Map<String, Value>) -> Result<Vec<ConfiguredHook>, FieldError> {
    // Other top-level keys are ignored, as the original tool did: its own
    // test files carry an "extra" key.
    let stages = match top.get("hooks") {
        Some(Value::Object(stages)) => stages,
        Some(_) => return Err(FieldError::new("hooks", "must be an object of stage name to hook list")),
        None => return Err(FieldError::new("hooks", "missing (expected {\"hooks\": {\"prestart\": [...], ...}})")),
    };
    let mut out = Vec::new();
    for (name, list) in stages {
        let field = format!("hooks.{name}");
        let stage = Stage::from_name(name)
            .ok_or_else(|| FieldError::new(&field, format!("unknown stage; must be one of {}", stage_names())))?;
        let Value::Array(list) = list else {
            return Err(FieldError::new(field, "must be an array of hooks"));
        };
        for (i, hook) in list.iter().enumerate() {
            let hook = validate_hook(hook, &format!("{field}[{i}]"))?;
            out.push(ConfiguredHook { stages: vec![stage], hook, when: None });
        }
    }
    Ok(out)
}

/// The hooks.d 1.0.0 format: one hook, its conditions and its stages, all
/// three required (oci-hooks(5)). Other top-level keys are ignored, as
/// containers/common's JSON decoding ignores them, so a file podman accepts
/// is accepted here.
fn parse_hooks_d(top: &Map<String, Value>) -> Result<ConfiguredHook, FieldError> {
    let required = |key: &str| {
        top.get(key)
            .ok_or_else(|| FieldError::new(key, "missing (a hooks.d 1.0.0 file has \"hook\", \"when\" and \"stages\")"))
    };
    let hook = validate_hook(required("hook")?, "hook")?;
    let when = when::parse(required("when")?, "when")?;
    let Value::Array(names) = required("stages")? else {
        return Err(FieldError::new("stages", "must be an array of stage names"));
    };
    if names.is_empty() {
        return Err(FieldError::new("stages", format!("must name at least one of {}", stage_names())));
    }
    let mut stages = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let field = format!("stages[{i}]");
        let Value::String(name) = name else {
            return Err(FieldError::new(field, "must be a string"));
        };
        let stage = Stage::from_name(name).ok_or_else(|| {
            FieldError::new(&field, format!("unknown stage {name:?}; must be one of {}", stage_names()))
        })?;
        // A repeated stage adds the hook once, as the merge would anyway.
        if !stages.contains(&stage) {
            stages.push(stage);
        }
    }
    Ok(ConfiguredHook { stages, hook, when: Some(when) })
}

/// One configured hook, the file it came from, and the conditions of its
/// `when` that a container does not meet: none, and it applies.
#[derive(Debug)]
pub(crate) struct Selected<'h> {
    pub(crate) file: &'h Path,
    pub(crate) hook: &'h ConfiguredHook,
    pub(crate) unmet: Vec<Unmet>,
}

impl Selected<'_> {
    pub(crate) fn applies(&self) -> bool {
        self.unmet.is_empty()
    }
}

/// Which of the files' hooks apply to the container whose spec is `spec`,
/// in configured order: the one decision the shim acts on and `validate`
/// reports, so the two cannot disagree. Conditions see the spec as the
/// engine wrote it, and its fields are parsed only if some hook has
/// conditions, so a spec is never refused for a field nothing reads. A
/// hook without `when` applies to every container; with no spec at all
/// (`validate` without `--spec`) every hook is listed as applying.
pub(crate) fn select<'h>(files: &'h [HookFile], spec: Option<&Spec<'_>>) -> Result<Vec<Selected<'h>>, SpecError> {
    let hooks = || files.iter().flat_map(|f| f.hooks.iter().map(move |h| (f.path.as_path(), h)));
    let view = match spec {
        Some(spec) if hooks().any(|(_, h)| h.when.is_some()) => Some(spec.view(when::SPEC_FIELDS)?),
        _ => None,
    };
    let container = view.as_ref().map(Container::of).transpose()?;
    let unmet = |h: &ConfiguredHook| match (&h.when, &container) {
        (Some(w), Some(c)) => w.unmet(c),
        _ => Vec::new(),
    };
    Ok(hooks().map(|(file, hook)| Selected { file, hook, unmet: unmet(hook) }).collect())
}

/// "prestart, createRuntime, ..." for messages.
pub fn stage_names() -> String {
    Stage::ALL.map(Stage::name).join(", ")
}

/// Checks one runtime-spec hook object (config.md: `path` required and
/// absolute, `args` and `env` arrays of strings, `env` entries `KEY=VALUE`,
/// `timeout` a positive number of seconds) and returns it with its keys in
/// the spec's order. `field` names it in errors.
pub fn validate_hook(hook: &Value, field: &str) -> Result<Value, FieldError> {
    let Value::Object(obj) = hook else {
        return Err(FieldError::new(field, "must be an object with at least \"path\""));
    };
    if let Some(key) = obj.keys().find(|k| !["path", "args", "env", "timeout"].contains(&k.as_str())) {
        return Err(FieldError::new(
            format!("{field}.{key}"),
            "unknown field (a hook has path, args, env and timeout)",
        ));
    }
    let mut out = Map::new();
    match obj.get("path") {
        None => return Err(FieldError::new(format!("{field}.path"), "missing")),
        Some(Value::String(p)) if p.starts_with('/') => {
            out.insert("path".into(), Value::String(p.clone()));
        }
        Some(Value::String(_)) => return Err(FieldError::new(format!("{field}.path"), "must be an absolute path")),
        Some(_) => return Err(FieldError::new(format!("{field}.path"), "must be a string")),
    }
    for key in ["args", "env"] {
        let Some(value) = obj.get(key) else { continue };
        let Value::Array(items) = value else {
            return Err(FieldError::new(format!("{field}.{key}"), "must be an array of strings"));
        };
        for (i, item) in items.iter().enumerate() {
            let Value::String(s) = item else {
                return Err(FieldError::new(format!("{field}.{key}[{i}]"), "must be a string"));
            };
            if key == "env" && !s.contains('=') {
                return Err(FieldError::new(format!("{field}.{key}[{i}]"), format!("{s:?} must be KEY=VALUE")));
            }
        }
        out.insert(key.into(), value.clone());
    }
    if let Some(timeout) = obj.get("timeout") {
        match timeout.as_i64() {
            Some(t) if t > 0 => {
                out.insert("timeout".into(), timeout.clone());
            }
            _ => {
                return Err(FieldError::new(
                    format!("{field}.timeout"),
                    format!("must be a whole number of seconds greater than 0, not {}", Json(timeout)),
                ))
            }
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = "/etc/oci-add-hooks/hooks.d/10-gpu.json";

    fn parse_str(text: &str) -> Result<HookFile, HookError> {
        parse(Path::new(FILE), text.as_bytes())
    }

    fn err(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    #[test]
    fn all_six_stages_in_file_order_with_hooks_normalised() {
        let f = parse_str(
            r#"{"extra": 1, "hooks": {
                "poststop": [{"path": "/z"}],
                "prestart": [{"timeout": 5, "env": ["A=b"], "args": ["a", "b"], "path": "/a"}, {"path": "/b"}],
                "createRuntime": [], "createContainer": [{"path": "/c"}],
                "startContainer": [{"path": "/s"}], "poststart": [{"path": "/p"}]}}"#,
        )
        .unwrap();
        let stages: Vec<_> = f.hooks.iter().map(|h| h.stages[0]).collect();
        assert_eq!(
            stages,
            [
                Stage::Poststop,
                Stage::Prestart,
                Stage::Prestart,
                Stage::CreateContainer,
                Stage::StartContainer,
                Stage::Poststart
            ]
        );
        let first = serde_json::to_string(&f.hooks[1].hook).unwrap();
        assert_eq!(first, r#"{"path":"/a","args":["a","b"],"env":["A=b"],"timeout":5}"#);
    }

    #[test]
    fn errors_name_the_file_the_field_and_why() {
        let cases = [
            (r#"{"hooks": {"prestart": [{"path": "/a"}, {"path": "rel"}]}}"#, "hooks.prestart[1].path: must be an absolute path"),
            (r#"{"hooks": {"preStart": []}}"#, "hooks.preStart: unknown stage; must be one of prestart, createRuntime, createContainer, startContainer, poststart, poststop"),
            (r#"{"hooks": {"prestart": [{}]}}"#, "hooks.prestart[0].path: missing"),
            (r#"{"hooks": {"prestart": [{"path": 1}]}}"#, "hooks.prestart[0].path: must be a string"),
            (r#"{"hooks": {"prestart": [{"path": "/a", "args": "x"}]}}"#, "hooks.prestart[0].args: must be an array of strings"),
            (r#"{"hooks": {"prestart": [{"path": "/a", "args": [1]}]}}"#, "hooks.prestart[0].args[0]: must be a string"),
            (r#"{"hooks": {"prestart": [{"path": "/a", "env": ["NOEQUALS"]}]}}"#, "hooks.prestart[0].env[0]: \"NOEQUALS\" must be KEY=VALUE"),
            (r#"{"hooks": {"prestart": [{"path": "/a", "timeout": 0}]}}"#, "hooks.prestart[0].timeout: must be a whole number of seconds greater than 0, not 0"),
            (r#"{"hooks": {"prestart": [{"path": "/a", "timeout": -3}]}}"#, "hooks.prestart[0].timeout: must be a whole number of seconds greater than 0, not -3"),
            (r#"{"hooks": {"prestart": [{"path": "/a", "timeout": 1.5}]}}"#, "hooks.prestart[0].timeout: must be a whole number of seconds greater than 0, not 1.5"),
            (r#"{"hooks": {"prestart": [{"path": "/a", "timeout": "5"}]}}"#, "hooks.prestart[0].timeout: must be a whole number of seconds greater than 0, not \"5\""),
            (r#"{"hooks": {"prestart": [{"path": "/a", "arg": []}]}}"#, "hooks.prestart[0].arg: unknown field (a hook has path, args, env and timeout)"),
            (r#"{"hooks": {"prestart": {"path": "/a"}}}"#, "hooks.prestart: must be an array of hooks"),
            (r#"{"hooks": {"prestart": ["/a"]}}"#, "hooks.prestart[0]: must be an object with at least \"path\""),
            (r#"{"hooks": []}"#, "hooks: must be an object of stage name to hook list"),
            (r#"{"prestart": []}"#, "hooks: missing (expected {\"hooks\": {\"prestart\": [...], ...}})"),
            (r#"[]"#, "(top level): must be a JSON object"),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), format!("{FILE}: {want}"), "{text}");
        }
    }

    #[test]
    fn invalid_json_says_where() {
        assert_eq!(
            err("{\"hooks\": {\n  \"prestart\": [,]}}"),
            format!("{FILE}: not valid JSON: expected value at line 2 column 16")
        );
        assert_eq!(err(""), format!("{FILE}: not valid JSON: EOF while parsing a value at line 1 column 0"));
    }

    #[test]
    fn empty_hooks_is_no_hooks() {
        assert_eq!(parse_str(r#"{"hooks": {}}"#).unwrap().hooks, vec![]);
    }

    #[test]
    fn hooks_d_file_from_the_oci_hooks_man_page() {
        let f = parse_str(
            r#"{
              "version": "1.0.0",
              "hook": {
                "path": "/usr/sbin/nvidia-container-runtime-hook",
                "args": ["nvidia-container-runtime-hook", "prestart"],
                "env": ["NVIDIA_REQUIRE_CUDA=cuda>=9.1", "NVIDIA_VISIBLE_DEVICES=GPU-fef8089b"]
              },
              "when": {"annotations": {"^com\\.example\\.department$": ".*fluid-dynamics$"}},
              "stages": ["prestart", "poststop", "prestart"],
              "comment": "ignored, as containers/common ignores it"
            }"#,
        )
        .unwrap();
        assert_eq!(f.hooks.len(), 1);
        let h = &f.hooks[0];
        assert_eq!(h.stages, [Stage::Prestart, Stage::Poststop]);
        assert_eq!(h.hook["path"], "/usr/sbin/nvidia-container-runtime-hook");
        let when = h.when.as_ref().unwrap();
        assert_eq!(when.annotations.len(), 1);
        assert_eq!(when.annotations[0].0.as_str(), "^com\\.example\\.department$");
        // The original format applies everywhere.
        assert_eq!(parse_str(r#"{"hooks": {"prestart": [{"path": "/a"}]}}"#).unwrap().hooks[0].when, None);
    }

    #[test]
    fn hooks_d_errors_name_the_file_the_field_and_why() {
        let ok_when = r#""when": {"always": true}"#;
        let cases = [
            (r#"{"version": "0.1.0", "hook": "/a"}"#.to_owned(), r#"version: "0.1.0" is not supported: a hooks.d file has "version": "1.0.0", and a {"hooks": ...} file has no version"#),
            (r#"{"version": 1, "hooks": {}}"#.to_owned(), r#"version: 1 is not supported: a hooks.d file has "version": "1.0.0", and a {"hooks": ...} file has no version"#),
            (format!(r#"{{"version": "1.0.0", {ok_when}, "stages": ["prestart"]}}"#), r#"hook: missing (a hooks.d 1.0.0 file has "hook", "when" and "stages")"#),
            (r#"{"version": "1.0.0", "hook": {"path": "/a"}, "stages": ["prestart"]}"#.to_owned(), r#"when: missing (a hooks.d 1.0.0 file has "hook", "when" and "stages")"#),
            (format!(r#"{{"version": "1.0.0", "hook": {{"path": "/a"}}, {ok_when}}}"#), r#"stages: missing (a hooks.d 1.0.0 file has "hook", "when" and "stages")"#),
            (format!(r#"{{"version": "1.0.0", "hook": "/a", {ok_when}, "stages": ["prestart"]}}"#), r#"hook: must be an object with at least "path""#),
            (format!(r#"{{"version": "1.0.0", "hook": {{"path": "a"}}, {ok_when}, "stages": ["prestart"]}}"#), "hook.path: must be an absolute path"),
            (format!(r#"{{"version": "1.0.0", "hook": {{"path": "/a", "timeout": 0}}, {ok_when}, "stages": ["prestart"]}}"#), "hook.timeout: must be a whole number of seconds greater than 0, not 0"),
            (format!(r#"{{"version": "1.0.0", "hook": {{"path": "/a"}}, {ok_when}, "stages": "prestart"}}"#), "stages: must be an array of stage names"),
            (format!(r#"{{"version": "1.0.0", "hook": {{"path": "/a"}}, {ok_when}, "stages": []}}"#), "stages: must name at least one of prestart, createRuntime, createContainer, startContainer, poststart, poststop"),
            (format!(r#"{{"version": "1.0.0", "hook": {{"path": "/a"}}, {ok_when}, "stages": ["prestart", "preStart"]}}"#), r#"stages[1]: unknown stage "preStart"; must be one of prestart, createRuntime, createContainer, startContainer, poststart, poststop"#),
            (format!(r#"{{"version": "1.0.0", "hook": {{"path": "/a"}}, {ok_when}, "stages": [1]}}"#), "stages[0]: must be a string"),
            (r#"{"version": "1.0.0", "hook": {"path": "/a"}, "when": {}, "stages": ["prestart"]}"#.to_owned(), "when: must set at least one condition (always, annotations, commands, hasBindMounts; an empty annotations or commands sets nothing)"),
            (r#"{"version": "1.0.0", "hook": {"path": "/a"}, "when": {"commands": ["(sh"]}, "stages": ["prestart"]}"#.to_owned(), r#"when.commands[0]: pattern "(sh" is not a valid regex: "#),
        ];
        for (text, want) in cases {
            let got = err(&text);
            assert!(got.starts_with(&format!("{FILE}: {want}")), "{text}\n got: {got}\nwant: {want}");
        }
    }

    #[test]
    fn validate_hook_keeps_big_timeouts_exactly() {
        let h = validate_hook(&json!({"path": "/x", "timeout": 9007199254740993u64}), "h").unwrap();
        assert_eq!(h.to_string(), r#"{"path":"/x","timeout":9007199254740993}"#);
    }
}
