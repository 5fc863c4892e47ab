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

mod case_fold;
mod go_syntax;

const FIELDS: [&str; 4] = ["always", "annotations", "commands", "hasBindMounts"];

/// A regex with the text it was written as.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles `source` as Go's `regexp.Compile` does; `field` and
    /// `what` name it if it is invalid.
    fn compile(source: &str, field: &str, what: &str) -> Result<Pattern, FieldError> {
        match go_regex(source) {
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

/// `source` in Go's syntax (`go_syntax`), compiled by regex-lite. What the
/// rewrite writes regex-lite takes, so a failure of regex-lite's is one of
/// its limits (nesting, size), which are not Go's.
fn go_regex(source: &str) -> Result<Regex, String> {
    let translated = go_syntax::translate(source)?;
    Regex::new(&translated).map_err(|e| {
        let e = e.to_string();
        format!("beyond this build's regex limits: {}", e.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

/// Whether Go's `regexp.MatchString(pattern, text)` is true, or why
/// `regexp.Compile` refuses `pattern`: the binary's `when` matching, for
/// the differential tests (tests/integration/go.rs) and nothing else.
pub(crate) fn go_match(pattern: &str, text: &str) -> Result<bool, String> {
    go_regex(pattern).map(|re| re.is_match(text))
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
mod tests;
