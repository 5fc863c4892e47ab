//! `when`: the conditions of a hooks.d 1.0.0 hook file, and whether one
//! container meets them.
//!
//! Owns parsing a `when` object (its regexes are compiled once, when the
//! hook file is loaded), the facts of a container that conditions look at
//! (`Container`, read from its spec) and the evaluation. Pure: it never
//! reads a file and never changes a spec.
//!
//! The semantics are containers/common's (`pkg/hooks/1.0.0/when.go`,
//! `Match`, and `docs/oci-hooks.5.md`), so one hook file means the same on
//! podman and CRI-O as here:
//! - every condition that is set must match; `always: false` therefore
//!   never matches, and neither does `hasBindMounts: false` (Go's `Match`
//!   returns false for a set condition that does not hold);
//! - `annotations` matches when, for every key/value pattern pair, some
//!   annotation's key matches the key pattern and its value the value
//!   pattern; `commands` matches when any pattern matches `process.args[0]`
//!   exactly as written in the spec (not resolved in `PATH`: the doc's
//!   examples are `.*/init$`);
//! - patterns are unanchored searches, as Go's `regexp.MatchString`;
//! - an empty `annotations` object or `commands` list sets nothing (Go
//!   loops over it without counting a match).
//!
//! Two choices are stricter than containers/common, which never fails a
//! `when`: at least one condition must be set (its documentation requires it,
//! its code silently never matches), and an unknown key is an error, since a
//! misspelt condition (`annotation`, an old bug of podman's own) would make
//! a hook apply more widely than written.

use std::fmt;

use regex_lite::Regex;
use serde_json::{Map, Value};

use crate::json::{FieldError, Json};
use crate::spec::SpecError;

const FIELDS: [&str; 4] = ["always", "annotations", "commands", "hasBindMounts"];

/// A regex with the text it was written as.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles `source`; `field` and `what` name it if it is invalid.
    fn compile(source: &str, field: &str, what: &str) -> Result<Pattern, FieldError> {
        match Regex::new(source) {
            Ok(regex) => Ok(Pattern { source: source.to_owned(), regex }),
            Err(e) => Err(FieldError::new(field, format!("{what} {source:?} is not a valid regex: {e}"))),
        }
    }

    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }

    /// An unanchored search, as Go's `regexp.MatchString`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// The conditions of one hook. Empty `annotations` or `commands` are unset.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct When {
    pub(crate) always: Option<bool>,
    /// Key pattern and value pattern, in file order.
    pub(crate) annotations: Vec<(Pattern, Pattern)>,
    pub(crate) commands: Vec<Pattern>,
    pub(crate) has_bind_mounts: Option<bool>,
}

impl When {
    /// As JSON, the way it was written (keys in the format's order): what
    /// `Display` shows, and what a converted hooks.d file carries.
    pub(crate) fn to_value(&self) -> Value {
        let mut obj = Map::new();
        if let Some(b) = self.always {
            obj.insert("always".into(), Value::Bool(b));
        }
        if !self.annotations.is_empty() {
            let pairs = self.annotations.iter().map(|(k, v)| (k.source.clone(), Value::String(v.source.clone())));
            obj.insert("annotations".into(), Value::Object(pairs.collect()));
        }
        if !self.commands.is_empty() {
            let list = self.commands.iter().map(|p| Value::String(p.source.clone()));
            obj.insert("commands".into(), Value::Array(list.collect()));
        }
        if let Some(b) = self.has_bind_mounts {
            obj.insert("hasBindMounts".into(), Value::Bool(b));
        }
        Value::Object(obj)
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Json(&self.to_value()).fmt(f)
    }
}

/// Parses the `when` object at `field`.
pub(crate) fn parse(value: &Value, field: &str) -> Result<When, FieldError> {
    let Value::Object(obj) = value else {
        return Err(FieldError::new(field, format!("must be an object with one or more of {}", FIELDS.join(", "))));
    };
    if let Some(key) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(FieldError::new(
            format!("{field}.{key}"),
            format!("unknown condition; a when has {}", FIELDS.join(", ")),
        ));
    }
    let when = When {
        always: boolean(obj, field, "always")?,
        annotations: annotations(obj, field)?,
        commands: commands(obj, field)?,
        has_bind_mounts: boolean(obj, field, "hasBindMounts")?,
    };
    if when.always.is_none()
        && when.annotations.is_empty()
        && when.commands.is_empty()
        && when.has_bind_mounts.is_none()
    {
        return Err(FieldError::new(
            field,
            format!(
                "must set at least one condition ({}; an empty annotations or commands sets nothing)",
                FIELDS.join(", ")
            ),
        ));
    }
    Ok(when)
}

/// A JSON null is the same as leaving the key out, as Go's `*bool` reads it.
fn present<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn boolean(obj: &Map<String, Value>, field: &str, key: &str) -> Result<Option<bool>, FieldError> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(FieldError::new(format!("{field}.{key}"), "must be true or false")),
    }
}

fn annotations(obj: &Map<String, Value>, field: &str) -> Result<Vec<(Pattern, Pattern)>, FieldError> {
    let field = format!("{field}.annotations");
    let Some(value) = present(obj, "annotations") else { return Ok(Vec::new()) };
    let Value::Object(map) = value else {
        return Err(FieldError::new(field, "must be an object of key regex to value regex"));
    };
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        let at = format!("{field}[{key:?}]");
        let Value::String(value) = value else {
            return Err(FieldError::new(at, "must be a string (a regex for the annotation's value)"));
        };
        out.push((Pattern::compile(key, &at, "key")?, Pattern::compile(value, &at, "value")?));
    }
    Ok(out)
}

fn commands(obj: &Map<String, Value>, field: &str) -> Result<Vec<Pattern>, FieldError> {
    let field = format!("{field}.commands");
    let Some(value) = present(obj, "commands") else { return Ok(Vec::new()) };
    let Value::Array(list) = value else {
        return Err(FieldError::new(field, "must be an array of regexes"));
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Value::String(source) = item else {
            return Err(FieldError::new(at, "must be a string (a regex for process.args[0])"));
        };
        out.push(Pattern::compile(source, &at, "pattern")?);
    }
    Ok(out)
}

/// The top-level spec members conditions read: `annotations`, `process`
/// (for `process.args[0]`) and `mounts`.
pub(crate) const SPEC_FIELDS: &[&str] = &["annotations", "process", "mounts"];

/// What conditions look at in a container's spec.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Container<'s> {
    /// `annotations`, in spec order.
    pub(crate) annotations: Vec<(&'s str, &'s str)>,
    /// `process.args[0]`, if the spec has one.
    pub(crate) command: Option<&'s str>,
    /// Whether any mount is a bind mount: `type` `bind`, or a `bind` or
    /// `rbind` option (runc treats either as a bind mount, whatever the
    /// type; Docker writes `"type": "bind"`, podman `"options": ["rbind"]`).
    pub(crate) has_bind_mounts: bool,
}

impl<'s> Container<'s> {
    /// Reads the facts from a spec. A field of the wrong type is an error
    /// rather than "no match": the runtime would refuse that spec anyway, and
    /// the operator should hear why from us first.
    pub(crate) fn of(spec: &'s Value) -> Result<Container<'s>, SpecError> {
        let wrong = |field: String, why: &'static str| SpecError::Field { field, why };
        let mut c = Container::default();
        match spec.get("annotations") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let Value::String(v) = v else {
                        return Err(wrong(format!("annotations[{k:?}]"), "must be a string"));
                    };
                    c.annotations.push((k, v));
                }
            }
            Some(_) => return Err(wrong("annotations".into(), "must be an object of strings")),
        }
        match spec.get("process").and_then(|p| p.get("args")) {
            None | Some(Value::Null) => {}
            Some(Value::Array(args)) => match args.first() {
                None => {}
                Some(Value::String(a)) => c.command = Some(a),
                Some(_) => return Err(wrong("process.args[0]".into(), "must be a string")),
            },
            Some(_) => return Err(wrong("process.args".into(), "must be an array of strings")),
        }
        match spec.get("mounts") {
            None | Some(Value::Null) => {}
            Some(Value::Array(mounts)) => {
                for (i, m) in mounts.iter().enumerate() {
                    c.has_bind_mounts |= is_bind(m).ok_or_else(|| {
                        wrong(format!("mounts[{i}]"), "must be an object with a string type and string options")
                    })?;
                }
            }
            Some(_) => return Err(wrong("mounts".into(), "must be an array of mounts")),
        }
        Ok(c)
    }
}

/// Whether one mount is a bind mount; None if it is malformed.
fn is_bind(mount: &Value) -> Option<bool> {
    let Value::Object(m) = mount else { return None };
    let by_type = match m.get("type") {
        None | Some(Value::Null) => false,
        Some(Value::String(t)) => t == "bind",
        Some(_) => return None,
    };
    let by_option = match m.get("options") {
        None | Some(Value::Null) => false,
        Some(Value::Array(opts)) => {
            let mut any = false;
            for o in opts {
                let o = o.as_str()?;
                any |= o == "bind" || o == "rbind";
            }
            any
        }
        Some(_) => return None,
    };
    Some(by_type || by_option)
}

/// A condition a container did not meet, and why.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unmet {
    AlwaysFalse,
    HasBindMountsFalse,
    NoBindMounts,
    /// No annotation matched this key pattern and value pattern.
    Annotation {
        key: String,
        value: String,
    },
    /// No pattern matched `process.args[0]` (None: the spec has none).
    Command {
        command: Option<String>,
        patterns: Vec<String>,
    },
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unmet::AlwaysFalse => f.write_str("when.always: false never matches"),
            Unmet::HasBindMountsFalse => f.write_str(
                "when.hasBindMounts: false never matches (as in containers/common; leave it out to ignore bind mounts)",
            ),
            Unmet::NoBindMounts => f.write_str("when.hasBindMounts: the container has no bind mount"),
            Unmet::Annotation { key, value } => {
                write!(f, "when.annotations: no annotation has a key matching {key:?} and a value matching {value:?}")
            }
            Unmet::Command { command: None, .. } => f.write_str("when.commands: the container has no process.args[0]"),
            Unmet::Command { command: Some(c), patterns } => {
                write!(f, "when.commands: process.args[0] {c:?} matches none of ")?;
                let quoted: Vec<String> = patterns.iter().map(|p| format!("{p:?}")).collect();
                f.write_str(&quoted.join(", "))
            }
        }
    }
}

impl When {
    /// Whether the hook applies to the container (the tests' shorthand).
    #[cfg(test)]
    pub(crate) fn matches(&self, c: &Container) -> bool {
        self.unmet(c).is_empty()
    }

    /// Every set condition the container does not meet, in the order
    /// always, hasBindMounts, annotations, commands (Go's `Match` order).
    pub(crate) fn unmet(&self, c: &Container) -> Vec<Unmet> {
        let mut out = Vec::new();
        if self.always == Some(false) {
            out.push(Unmet::AlwaysFalse);
        }
        match self.has_bind_mounts {
            Some(false) => out.push(Unmet::HasBindMountsFalse),
            Some(true) if !c.has_bind_mounts => out.push(Unmet::NoBindMounts),
            _ => {}
        }
        for (key, value) in &self.annotations {
            if !c.annotations.iter().any(|(k, v)| key.is_match(k) && value.is_match(v)) {
                out.push(Unmet::Annotation { key: key.source.clone(), value: value.source.clone() });
            }
        }
        // Go skips `commands` for a spec with no `process` and fails on an
        // empty `process.args`; a spec without a command cannot be started,
        // so here it simply does not match.
        if !self.commands.is_empty() && !c.command.is_some_and(|cmd| self.commands.iter().any(|p| p.is_match(cmd))) {
            out.push(Unmet::Command {
                command: c.command.map(str::to_owned),
                patterns: self.commands.iter().map(|p| p.source.clone()).collect(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn when(v: Value) -> When {
        parse(&v, "when").unwrap()
    }

    fn err(v: Value) -> String {
        let e = parse(&v, "when").unwrap_err();
        format!("{}: {}", e.field, e.why)
    }

    /// A spec with these annotations, command and mounts.
    fn spec(annotations: Value, command: &str, mounts: Value) -> Value {
        json!({"annotations": annotations, "process": {"args": [command, "-c", "true"]}, "mounts": mounts})
    }

    const NO_MOUNTS: fn() -> Value = || json!([{"destination": "/proc", "type": "proc", "source": "proc"}]);

    /// The table: conditions (the containers/common documentation's
    /// examples, and its Go tests' cases), a container, and the answer.
    #[test]
    fn conditions_table() {
        let gpu = || json!({"com.example.department": "cfd-fluid-dynamics", "other": "x"});
        let docker_bind =
            || json!([{"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "rw"]}]);
        let podman_bind = || json!([{"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind"]}]);
        let option_only = || json!([{"destination": "/d", "source": "/s", "options": ["bind", "ro"]}]);
        let cases: Vec<(&str, Value, Value, bool)> = vec![
            // oci-hooks(5): inject when process.args[0] ends in /init or /systemd.
            (
                "commands: /sbin/init",
                json!({"commands": [".*/init$", ".*/systemd$"]}),
                spec(json!({}), "/sbin/init", NO_MOUNTS()),
                true,
            ),
            (
                "commands: /usr/lib/systemd/systemd",
                json!({"commands": [".*/init$", ".*/systemd$"]}),
                spec(json!({}), "/usr/lib/systemd/systemd", NO_MOUNTS()),
                true,
            ),
            (
                "commands: /bin/sh",
                json!({"commands": [".*/init$", ".*/systemd$"]}),
                spec(json!({}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "commands: bare init is not resolved in PATH",
                json!({"commands": [".*/init$"]}),
                spec(json!({}), "init", NO_MOUNTS()),
                false,
            ),
            (
                "commands: unanchored search",
                json!({"commands": ["sh"]}),
                spec(json!({}), "/bin/bash", NO_MOUNTS()),
                true,
            ),
            (
                "commands: anchored by the writer",
                json!({"commands": ["^sh$"]}),
                spec(json!({}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            // oci-hooks(5): oci-umount when the container bind-mounts host directories.
            (
                "hasBindMounts: type bind",
                json!({"hasBindMounts": true}),
                spec(json!({}), "/bin/sh", docker_bind()),
                true,
            ),
            (
                "hasBindMounts: rbind option",
                json!({"hasBindMounts": true}),
                spec(json!({}), "/bin/sh", podman_bind()),
                true,
            ),
            (
                "hasBindMounts: bind option, no type",
                json!({"hasBindMounts": true}),
                spec(json!({}), "/bin/sh", option_only()),
                true,
            ),
            ("hasBindMounts: none", json!({"hasBindMounts": true}), spec(json!({}), "/bin/sh", NO_MOUNTS()), false),
            (
                "hasBindMounts: false never matches",
                json!({"hasBindMounts": false}),
                spec(json!({}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "hasBindMounts: false never matches, with mounts",
                json!({"hasBindMounts": false}),
                spec(json!({}), "/bin/sh", docker_bind()),
                false,
            ),
            // oci-hooks(5): the nvidia example, key ^com\.example\.department$ and value .*fluid-dynamics$.
            (
                "annotations: the nvidia example",
                json!({"annotations": {"^com\\.example\\.department$": ".*fluid-dynamics$"}}),
                spec(gpu(), "/bin/sh", NO_MOUNTS()),
                true,
            ),
            (
                "annotations: value does not match",
                json!({"annotations": {"^com\\.example\\.department$": ".*fluid-dynamics$"}}),
                spec(json!({"com.example.department": "fluid-dynamics-lab"}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "annotations: key does not match",
                json!({"annotations": {"^com\\.example\\.department$": ".*fluid-dynamics$"}}),
                spec(json!({"com.example.department.x": "fluid-dynamics"}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "annotations: key and value from one annotation",
                json!({"annotations": {"^a$": "^2$"}}),
                spec(json!({"a": "1", "b": "2"}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "annotations: some annotation matches both",
                json!({"annotations": {"^[ab]$": "^2$"}}),
                spec(json!({"a": "1", "b": "2"}), "/bin/sh", NO_MOUNTS()),
                true,
            ),
            (
                "annotations: every pair must match",
                json!({"annotations": {"^a$": "1", "^b$": "3"}}),
                spec(json!({"a": "1", "b": "2"}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "annotations: unanchored",
                json!({"annotations": {"example": "fluid"}}),
                spec(gpu(), "/bin/sh", NO_MOUNTS()),
                true,
            ),
            (
                "annotations: none on the container",
                json!({"annotations": {".": "."}}),
                spec(Value::Null, "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "annotations: empty value pattern matches any value",
                json!({"annotations": {"^other$": ""}}),
                spec(gpu(), "/bin/sh", NO_MOUNTS()),
                true,
            ),
            // always.
            ("always: true", json!({"always": true}), spec(json!({}), "/bin/sh", NO_MOUNTS()), true),
            ("always: false", json!({"always": false}), spec(json!({}), "/bin/sh", NO_MOUNTS()), false),
            (
                "always: false wins over a matching command",
                json!({"always": false, "commands": ["sh"]}),
                spec(json!({}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "always: true and a command that fails",
                json!({"always": true, "commands": ["^/init$"]}),
                spec(json!({}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "empty annotations set nothing",
                json!({"always": true, "annotations": {}}),
                spec(json!({}), "/bin/sh", NO_MOUNTS()),
                true,
            ),
            (
                "empty commands set nothing",
                json!({"always": true, "commands": []}),
                spec(json!({}), "/bin/sh", NO_MOUNTS()),
                true,
            ),
            // Combinations: every set condition must match (Go's when_test.go, "and").
            (
                "command and bind mounts: both",
                json!({"commands": ["^/bin/sh$"], "hasBindMounts": true}),
                spec(json!({}), "/bin/sh", docker_bind()),
                true,
            ),
            (
                "command and bind mounts: no mounts",
                json!({"commands": ["^/bin/sh$"], "hasBindMounts": true}),
                spec(json!({}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "command and bind mounts: other command",
                json!({"commands": ["^/bin/sh$"], "hasBindMounts": true}),
                spec(json!({}), "/bin/ls", docker_bind()),
                false,
            ),
            (
                "annotation and command",
                json!({"annotations": {"department": "fluid"}, "commands": ["/sh$"]}),
                spec(gpu(), "/bin/sh", NO_MOUNTS()),
                true,
            ),
            (
                "annotation and command: annotation missing",
                json!({"annotations": {"department": "fluid"}, "commands": ["/sh$"]}),
                spec(json!({}), "/bin/sh", NO_MOUNTS()),
                false,
            ),
            (
                "all four",
                json!({"always": true, "annotations": {"department": ""}, "commands": ["sh"], "hasBindMounts": true}),
                spec(gpu(), "/bin/sh", podman_bind()),
                true,
            ),
        ];
        for (name, cond, spec, want) in cases {
            let c = Container::of(&spec).unwrap();
            assert_eq!(when(cond.clone()).matches(&c), want, "{name}: {cond} on {spec}");
        }
    }

    #[test]
    fn unmet_says_which_condition_failed() {
        let w = when(json!({
            "always": true, "hasBindMounts": true,
            "annotations": {"^gpu$": "^yes$", "^team$": "."},
            "commands": ["/init$", "/systemd$"]
        }));
        let s = spec(json!({"team": "a", "gpu": "no"}), "/bin/sh", NO_MOUNTS());
        let got: Vec<String> = w.unmet(&Container::of(&s).unwrap()).iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "when.hasBindMounts: the container has no bind mount",
                "when.annotations: no annotation has a key matching \"^gpu$\" and a value matching \"^yes$\"",
                "when.commands: process.args[0] \"/bin/sh\" matches none of \"/init$\", \"/systemd$\"",
            ]
        );
        let empty = json!({});
        let none = Container::of(&empty).unwrap();
        assert_eq!(
            when(json!({"commands": ["."]})).unmet(&none)[0].to_string(),
            "when.commands: the container has no process.args[0]"
        );
        assert_eq!(when(json!({"always": false})).unmet(&none), [Unmet::AlwaysFalse]);
    }

    #[test]
    fn parse_errors_name_the_field_and_the_pattern() {
        let cases = [
            (json!({}), "when: must set at least one condition (always, annotations, commands, hasBindMounts; an empty annotations or commands sets nothing)"),
            (json!({"annotations": {}, "commands": []}), "when: must set at least one condition (always, annotations, commands, hasBindMounts; an empty annotations or commands sets nothing)"),
            (json!({"always": null}), "when: must set at least one condition (always, annotations, commands, hasBindMounts; an empty annotations or commands sets nothing)"),
            (json!([]), "when: must be an object with one or more of always, annotations, commands, hasBindMounts"),
            (json!({"annotation": {"a": "b"}}), "when.annotation: unknown condition; a when has always, annotations, commands, hasBindMounts"),
            (json!({"always": "yes"}), "when.always: must be true or false"),
            (json!({"hasBindMounts": 1}), "when.hasBindMounts: must be true or false"),
            (json!({"annotations": ["a"]}), "when.annotations: must be an object of key regex to value regex"),
            (json!({"annotations": {"a": 1}}), "when.annotations[\"a\"]: must be a string (a regex for the annotation's value)"),
            (json!({"commands": "sh"}), "when.commands: must be an array of regexes"),
            (json!({"commands": ["sh", 2]}), "when.commands[1]: must be a string (a regex for process.args[0])"),
        ];
        for (v, want) in cases {
            assert_eq!(err(v.clone()), want, "{v}");
        }
        let bad_key = err(json!({"annotations": {"^a(": "b"}}));
        assert!(bad_key.starts_with("when.annotations[\"^a(\"]: key \"^a(\" is not a valid regex: "), "{bad_key}");
        let bad_value = err(json!({"annotations": {"a": "[z-a]"}}));
        assert!(
            bad_value.starts_with("when.annotations[\"a\"]: value \"[z-a]\" is not a valid regex: "),
            "{bad_value}"
        );
        let bad_command = err(json!({"commands": ["ok", "*sh"]}));
        assert!(bad_command.starts_with("when.commands[1]: pattern \"*sh\" is not a valid regex: "), "{bad_command}");
        assert!(!bad_command.contains('\n'), "one line: {bad_command}");
    }

    #[test]
    fn regex_lite_syntax_is_go_re2_syntax_for_what_hook_files_use() {
        // Perl classes, repetition, alternation, non-greedy, case flags, escapes.
        for (pattern, text, want) in [
            (r"^nvidia\.com/gpu(\.\d+)?$", "nvidia.com/gpu.0", true),
            (r"\w+-\d{2,}", "job-42", true),
            (r"(?i)^GPU$", "gpu", true),
            (r"^(init|systemd)$", "systemd", true),
            (r"a.*?b", "axxb", true),
            (r"\s", "nospace", false),
        ] {
            let w = when(json!({"commands": [pattern]}));
            let s = spec(json!({}), text, NO_MOUNTS());
            assert_eq!(w.matches(&Container::of(&s).unwrap()), want, "{pattern} on {text}");
        }
    }

    #[test]
    fn container_facts_and_malformed_specs() {
        let s = json!({
            "annotations": {"b": "2", "a": "1"},
            "process": {"args": ["/bin/echo", "x"]},
            "mounts": [{"destination": "/proc", "type": "proc"}, {"destination": "/x", "type": "none", "options": ["rbind"]}]
        });
        assert_eq!(
            Container::of(&s).unwrap(),
            Container { annotations: vec![("b", "2"), ("a", "1")], command: Some("/bin/echo"), has_bind_mounts: true }
        );
        assert_eq!(Container::of(&json!({"process": {"args": []}, "mounts": null})).unwrap(), Container::default());
        for (s, want) in [
            (json!({"annotations": []}), "annotations: must be an object of strings"),
            (json!({"annotations": {"a": 1}}), "annotations[\"a\"]: must be a string"),
            (json!({"process": {"args": "sh"}}), "process.args: must be an array of strings"),
            (json!({"process": {"args": [1]}}), "process.args[0]: must be a string"),
            (json!({"mounts": {}}), "mounts: must be an array of mounts"),
            (json!({"mounts": [{"type": 1}]}), "mounts[0]: must be an object with a string type and string options"),
            (
                json!({"mounts": [{"options": [1]}]}),
                "mounts[0]: must be an object with a string type and string options",
            ),
        ] {
            assert_eq!(Container::of(&s).unwrap_err().to_string(), want, "{s}");
        }
    }
}
