//! The container's spec (`config.json`) and the merge of hooks into it.
//!
//! Owns parsing the spec, prepending configured hooks to its stages, and
//! serialising it back. Pure: no file is read or written here (`atomic`
//! writes). Everything the merge does not need to touch is kept as it was:
//! key order (serde_json `preserve_order`), unknown fields and numbers as
//! written (`arbitrary_precision`); a stage the configuration does not name
//! is not created, and an unchanged spec is reported as such so the caller
//! need not write at all.

use std::fmt;

use serde_json::{Map, Value};

use crate::hooks::Stage;

#[derive(Debug, PartialEq, Eq)]
pub enum SpecError {
    Json(String),
    NotAnObject,
    HooksType,
    StageType(Stage),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Json(e) => write!(f, "not valid JSON: {e}"),
            SpecError::NotAnObject => f.write_str("must be a JSON object"),
            SpecError::HooksType => f.write_str("hooks: must be an object or null"),
            SpecError::StageType(s) => write!(f, "hooks.{s}: must be an array or null"),
        }
    }
}

impl std::error::Error for SpecError {}

/// Parses a spec; it must be a JSON object.
pub fn parse(bytes: &[u8]) -> Result<Value, SpecError> {
    let spec: Value = serde_json::from_slice(bytes).map_err(|e| SpecError::Json(e.to_string()))?;
    if !spec.is_object() {
        return Err(SpecError::NotAnObject);
    }
    Ok(spec)
}

/// Prepends `additions` (stage and hook, in configured order) to the spec's
/// stages, ahead of the hooks already there. A hook deep-equal to one
/// already in that stage, or added before it in this merge, is skipped, so
/// merging twice gives what merging once gave. Returns whether the spec
/// changed; on an error the spec is left as it was.
pub fn merge<'h>(
    spec: &mut Value,
    additions: impl IntoIterator<Item = (Stage, &'h Value)>,
) -> Result<bool, SpecError> {
    let Value::Object(top) = spec else { return Err(SpecError::NotAnObject) };
    let empty = Map::new();
    let existing = match top.get("hooks") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(stages)) => stages,
        Some(_) => return Err(SpecError::HooksType),
    };

    // Work out every stage's new hooks before changing anything.
    let mut new: [Vec<Value>; Stage::ALL.len()] = Default::default();
    for (stage, hook) in additions {
        let present = match existing.get(stage.name()) {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(list)) => list.as_slice(),
            Some(_) => return Err(SpecError::StageType(stage)),
        };
        let slot = &mut new[stage as usize];
        if !present.contains(hook) && !slot.contains(hook) {
            slot.push(hook.clone());
        }
    }
    if new.iter().all(Vec::is_empty) {
        return Ok(false);
    }

    // `hooks` keeps its place when present (even as null); a new one goes last.
    let hooks = top.entry("hooks").or_insert(Value::Null);
    if hooks.is_null() {
        *hooks = Value::Object(Map::new());
    }
    let Value::Object(stages) = hooks else { return Err(SpecError::HooksType) };
    for (stage, mut list) in Stage::ALL.into_iter().zip(new) {
        if list.is_empty() {
            continue;
        }
        let slot = stages.entry(stage.name()).or_insert(Value::Null);
        if let Value::Array(old) = slot {
            list.append(old);
        }
        *slot = Value::Array(list);
    }
    Ok(true)
}

/// Serialises the spec back. A spec written indented (as `runc spec` does)
/// is written indented the same way; anything else compactly, as Docker,
/// containerd and podman write it.
pub fn to_bytes(spec: &Value, original: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(original.len() + 1024);
    let written = match indent_of(original) {
        Some(indent) => {
            let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            serde::Serialize::serialize(spec, &mut ser)
        }
        None => serde_json::to_writer(&mut out, spec),
    };
    // Serialising a Value into a Vec cannot fail: there is no I/O and every
    // key is a string.
    debug_assert!(written.is_ok());
    if original.ends_with(b"\n") {
        out.push(b'\n');
    }
    out
}

/// The indentation of the first key, when the document opens with `{` and a
/// newline.
pub fn indent_of(original: &[u8]) -> Option<&[u8]> {
    let rest = original.strip_prefix(b"{")?;
    let rest = rest.strip_prefix(b"\r\n").or_else(|| rest.strip_prefix(b"\n"))?;
    let end = rest.iter().position(|&b| b != b' ' && b != b'\t')?;
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(spec: &str, add: &[(Stage, Value)]) -> (String, bool) {
        let mut v = parse(spec.as_bytes()).unwrap();
        let changed = merge(&mut v, add.iter().map(|(s, h)| (*s, h))).unwrap();
        (String::from_utf8(to_bytes(&v, spec.as_bytes())).unwrap(), changed)
    }

    #[test]
    fn prepends_in_order_and_keeps_existing_hooks_after() {
        let spec = r#"{"b":1,"hooks":{"prestart":[{"path":"/old"}],"poststop":[{"path":"/keep"}]},"a":2}"#;
        let (out, changed) = merged(
            spec,
            &[(Stage::Prestart, json!({"path": "/x"})), (Stage::Prestart, json!({"path": "/y"}))],
        );
        assert!(changed);
        assert_eq!(
            out,
            r#"{"b":1,"hooks":{"prestart":[{"path":"/x"},{"path":"/y"},{"path":"/old"}],"poststop":[{"path":"/keep"}]},"a":2}"#
        );
    }

    #[test]
    fn no_empty_stages_are_added_and_missing_hooks_goes_last() {
        let (out, _) = merged(r#"{"z":1,"a":2}"#, &[(Stage::Poststart, json!({"path": "/p"}))]);
        assert_eq!(out, r#"{"z":1,"a":2,"hooks":{"poststart":[{"path":"/p"}]}}"#);
    }

    #[test]
    fn null_hooks_and_null_stage_are_fine_and_keep_their_place() {
        let (out, _) = merged(r#"{"hooks":null,"z":1}"#, &[(Stage::Prestart, json!({"path": "/p"}))]);
        assert_eq!(out, r#"{"hooks":{"prestart":[{"path":"/p"}]},"z":1}"#);
        let (out, _) = merged(r#"{"hooks":{"prestart":null}}"#, &[(Stage::Prestart, json!({"path": "/p"}))]);
        assert_eq!(out, r#"{"hooks":{"prestart":[{"path":"/p"}]}}"#);
    }

    #[test]
    fn idempotent_and_unchanged_is_reported() {
        let add = [(Stage::Prestart, json!({"path": "/x", "args": ["x"]})), (Stage::Poststop, json!({"path": "/y"}))];
        let (once, changed) = merged(r#"{"hooks":{"prestart":[{"path":"/old"}]}}"#, &add);
        assert!(changed);
        let (twice, changed) = merged(&once, &add);
        assert!(!changed);
        assert_eq!(once, twice);
    }

    #[test]
    fn duplicates_within_the_configuration_are_added_once() {
        let h = json!({"path": "/x"});
        let (out, _) = merged("{}", &[(Stage::Prestart, h.clone()), (Stage::Prestart, h)]);
        assert_eq!(out, r#"{"hooks":{"prestart":[{"path":"/x"}]}}"#);
    }

    #[test]
    fn deep_equality_ignores_key_order_of_an_existing_hook() {
        let (_, changed) = merged(
            r#"{"hooks":{"prestart":[{"args":["a"],"path":"/x"}]}}"#,
            &[(Stage::Prestart, json!({"path": "/x", "args": ["a"]}))],
        );
        assert!(!changed);
    }

    #[test]
    fn numbers_and_escapes_survive() {
        // Exact digits are kept; only an exponent gains its sign (1e3 is 1e+3).
        let spec = r#"{"linux":{"resources":{"memory":{"limit":18446744073709551615,"swap":-1},"cpu":{"shares":1.50}}},"s":"<a>\u00e9\"\\\n","f":1e3}"#;
        let (out, _) = merged(spec, &[(Stage::Prestart, json!({"path": "/p"}))]);
        assert_eq!(
            out,
            r#"{"linux":{"resources":{"memory":{"limit":18446744073709551615,"swap":-1},"cpu":{"shares":1.50}}},"s":"<a>é\"\\\n","f":1e+3,"hooks":{"prestart":[{"path":"/p"}]}}"#
        );
    }

    #[test]
    fn wrong_types_are_errors_and_leave_the_spec_alone() {
        assert_eq!(parse(b"[]"), Err(SpecError::NotAnObject));
        assert!(matches!(parse(b"{"), Err(SpecError::Json(_))));
        for (spec, want) in [
            (r#"{"hooks":[]}"#, SpecError::HooksType),
            (r#"{"hooks":{"prestart":{}}}"#, SpecError::StageType(Stage::Prestart)),
        ] {
            let mut v = parse(spec.as_bytes()).unwrap();
            let before = v.clone();
            assert_eq!(merge(&mut v, [(Stage::Prestart, &json!({"path": "/p"}))]), Err(want));
            assert_eq!(v, before);
        }
        // A stage we do not add to may have any shape: it is not ours.
        let mut v = parse(br#"{"hooks":{"poststop":5}}"#).unwrap();
        assert_eq!(merge(&mut v, [(Stage::Prestart, &json!({"path": "/p"}))]), Ok(true));
    }

    #[test]
    fn indented_specs_stay_indented() {
        let spec = "{\n\t\"ociVersion\": \"1.0.2\",\n\t\"hooks\": {}\n}\n";
        let (out, _) = merged(spec, &[(Stage::Prestart, json!({"path": "/p"}))]);
        assert_eq!(
            out,
            "{\n\t\"ociVersion\": \"1.0.2\",\n\t\"hooks\": {\n\t\t\"prestart\": [\n\t\t\t{\n\t\t\t\t\"path\": \"/p\"\n\t\t\t}\n\t\t]\n\t}\n}\n"
        );
    }
}
