//! The container's spec (`config.json`) and the merge of hooks into it.
//!
//! Owns parsing the spec, prepending configured hooks to its stages, and
//! writing it back. Pure: no file is read or written here (`atomic`
//! writes). Only `hooks` is ever taken apart: every other member is checked
//! to be valid JSON and kept as the bytes it was written as, and the new
//! spec is the old bytes with the `hooks` value replaced (or, when there was
//! none, added as the last member). So key order, unknown fields, numbers,
//! escapes and layout outside `hooks` are kept exactly, and the cost of a
//! spec with thousands of mounts is one scan of it, not a tree of it. A
//! stage the configuration does not name is not created, and an unchanged
//! spec is reported as such so the caller need not write at all.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::json::{indent_of, write_json};

/// The six lifecycle stages of the runtime-spec (config.md, "POSIX-platform
/// Hooks"), in the order the runtime runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::Prestart,
        Stage::CreateRuntime,
        Stage::CreateContainer,
        Stage::StartContainer,
        Stage::Poststart,
        Stage::Poststop,
    ];

    /// The stage's key in `config.json`'s `hooks` object.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prestart => "prestart",
            Stage::CreateRuntime => "createRuntime",
            Stage::CreateContainer => "createContainer",
            Stage::StartContainer => "startContainer",
            Stage::Poststart => "poststart",
            Stage::Poststop => "poststop",
        }
    }

    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum SpecError {
    Json(String),
    NotAnObject,
    /// A top-level key runtimes may read differently: `key` given twice, or
    /// spelt `spelt`, which Go's encoding/json (and so runc) reads as `key`.
    Repeated {
        key: &'static str,
        spelt: Option<String>,
    },
    HooksType,
    StageType(Stage),
    /// A field a `when` condition reads has the wrong type.
    Field {
        field: String,
        why: &'static str,
    },
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Json(e) => write!(f, "not valid JSON: {e}"),
            SpecError::NotAnObject => f.write_str("must be a JSON object"),
            SpecError::Repeated { key, spelt: None } => {
                write!(f, "{key}: given more than once (runtimes disagree on which counts)")
            }
            SpecError::Repeated { key, spelt: Some(spelt) } => write!(
                f,
                "{key}: given as \"{}\", which runc reads as \"{key}\" (Go's encoding/json matches keys \
                 without regard to case) and other runtimes do not",
                escape_non_ascii(spelt)
            ),
            SpecError::HooksType => f.write_str("hooks: must be an object or null"),
            SpecError::StageType(s) => write!(f, "hooks.{s}: must be an array or null"),
            SpecError::Field { field, why } => write!(f, "{field}: {why}"),
        }
    }
}

impl std::error::Error for SpecError {}

/// A parsed spec: its bytes, its top-level members as written, and its
/// `hooks`, the one member the merge changes.
#[derive(Debug)]
pub struct Spec<'a> {
    bytes: &'a [u8],
    members: Vec<(String, &'a RawValue)>,
    /// `Null` when the spec has no `hooks`.
    hooks: Value,
    /// Where the `hooks` value goes when the spec is written back.
    hooks_at: Place,
    /// The indentation of a spec written indented (as `runc spec` does).
    indent: Option<&'a [u8]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// The bytes of the existing `hooks` value.
    Replace(Range<usize>),
    /// No `hooks` yet: a new last member goes here, after a comma unless it
    /// is the only member.
    Append { at: usize, first: bool },
}

impl<'a> Spec<'a> {
    /// The top-level member `key` as written, if the spec has it. Refused
    /// when runtimes may disagree on what it is: when it is given twice, or
    /// also under a key that runc's Go decoder takes for it (`go_reads_as`).
    pub fn member(&self, key: &'static str) -> Result<Option<&'a RawValue>, SpecError> {
        the_member(&self.members, key)
    }

    /// The spec's `hooks` (`Null` when absent), merged ones included.
    pub fn hooks(&self) -> &Value {
        &self.hooks
    }

    /// An object of just the named top-level members, parsed (`hooks` as
    /// merged so far): for readers such as `when` that need a few fields,
    /// so the rest of the spec is never built as a tree.
    pub fn view(&self, keys: &[&'static str]) -> Result<Value, SpecError> {
        let mut out = Map::new();
        for &key in keys {
            let value = match (key, self.member(key)?) {
                ("hooks", _) => self.hooks.clone(),
                (_, Some(raw)) => from_raw(raw)?,
                (_, None) => continue,
            };
            out.insert(key.to_owned(), value);
        }
        Ok(Value::Object(out))
    }
}

/// The top-level object, each value left unparsed.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(ObjectVisitor)
    }
}

/// Parses a spec; it must be a JSON object.
pub fn parse(bytes: &[u8]) -> Result<Spec<'_>, SpecError> {
    let Members(members) = serde_json::from_slice(bytes).map_err(|e| {
        // A type error at the top is valid JSON of another type, or a
        // document also broken further on: scan it all to tell which.
        match serde_json::from_slice::<IgnoredAny>(bytes) {
            Ok(_) if e.is_data() => SpecError::NotAnObject,
            Ok(_) => SpecError::Json(e.to_string()),
            Err(whole) => SpecError::Json(whole.to_string()),
        }
    })?;
    let (hooks, hooks_at) = match the_member(&members, "hooks")? {
        Some(raw) => {
            let value = from_raw(raw)?;
            (value, Place::Replace(span(bytes, raw)))
        }
        None => {
            let place = match members.last() {
                Some(&(_, last)) => Place::Append { at: span(bytes, last).end, first: false },
                // An empty object: just after its opening brace, the first
                // `{` in the text.
                None => Place::Append { at: bytes.iter().position(|&b| b == b'{').map_or(0, |i| i + 1), first: true },
            };
            (Value::Null, place)
        }
    };
    Ok(Spec { bytes, members, hooks, hooks_at, indent: indent_of(bytes) })
}

/// The member `key` of `members`, unless runtimes may read the object
/// differently: `key` twice (Go merges both values, others take one), or a
/// key that is not `key` but that Go's encoding/json matches to it, which
/// runc then reads as `key` and a runtime in another language ignores.
fn the_member<'a>(members: &[(String, &'a RawValue)], key: &'static str) -> Result<Option<&'a RawValue>, SpecError> {
    let mut found = None;
    for (k, v) in members {
        if k == key {
            if found.replace(*v).is_some() {
                return Err(SpecError::Repeated { key, spelt: None });
            }
        } else if go_reads_as(k, key) {
            return Err(SpecError::Repeated { key, spelt: Some(k.clone()) });
        }
    }
    Ok(found)
}

/// Whether Go's encoding/json, which runc decodes `config.json` with, takes
/// the object key `key` for the struct field `name` (ASCII lower-case
/// letters, as every field the shim reads is). It tries the exact name,
/// then any key equal to it under Unicode simple case folding
/// (src/encoding/json/decode.go, `object`; the folding is fold.go's
/// `foldFunc`/`equalFoldRight` up to Go 1.20, `foldName` since 1.21,
/// both equal to `bytes.EqualFold`). Folding maps only two characters
/// outside ASCII onto an ASCII letter: U+212A KELVIN SIGN onto `k`, and
/// U+017F LATIN SMALL LETTER LONG S onto `s`.
fn go_reads_as(key: &str, name: &str) -> bool {
    let mut chars = key.chars();
    let same = |c: char, want: u8| match c {
        '\u{212A}' => want == b'k',
        '\u{017F}' => want == b's',
        c => c.is_ascii() && (c as u8).eq_ignore_ascii_case(&want),
    };
    name.bytes().all(|want| chars.next().is_some_and(|c| same(c, want))) && chars.next().is_none()
}

/// A key as a message shows it: what is not printable ASCII as `\u{...}`,
/// so that a KELVIN SIGN is not mistaken for a `K`.
fn escape_non_ascii(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\u{{{:04X}}}", c as u32)),
        }
    }
    out
}

/// Where a value borrowed from `bytes` sits in it.
fn span(bytes: &[u8], raw: &RawValue) -> Range<usize> {
    let start = raw.get().as_ptr() as usize - bytes.as_ptr() as usize;
    let range = start..start + raw.get().len();
    debug_assert_eq!(bytes.get(range.clone()), Some(raw.get().as_bytes()));
    range
}

/// Prepends `additions` (stage and hook, in configured order) to the spec's
/// stages, ahead of the hooks already there. A hook deep-equal to one
/// already in that stage, or added before it in this merge, is skipped, so
/// merging twice gives what merging once gave. Returns whether the spec
/// changed; on an error the spec is left as it was.
pub fn merge<'h>(
    spec: &mut Spec<'_>,
    additions: impl IntoIterator<Item = (Stage, &'h Value)>,
) -> Result<bool, SpecError> {
    let empty = Map::new();
    let existing = match &spec.hooks {
        Value::Null => &empty,
        Value::Object(stages) => stages,
        _ => return Err(SpecError::HooksType),
    };

    // Work out every stage's new hooks before changing anything. Each
    // stage's hooks, present and added, are kept in a `Seen` (built at the
    // stage's first addition), so a merge is linear in the number of hooks.
    let state = RandomState::new();
    let mut new: [Vec<Value>; Stage::ALL.len()] = Default::default();
    let mut seen: [Option<Seen<'_, '_>>; Stage::ALL.len()] = Default::default();
    for (stage, hook) in additions {
        let seen = match &mut seen[stage as usize] {
            Some(seen) => seen,
            unseen => {
                let present = match existing.get(stage.name()) {
                    None | Some(Value::Null) => &[][..],
                    Some(Value::Array(list)) => list.as_slice(),
                    Some(_) => return Err(SpecError::StageType(stage)),
                };
                let mut seen = Seen::new(&state);
                for old in present {
                    seen.insert(old);
                }
                unseen.insert(seen)
            }
        };
        if seen.insert(hook) {
            new[stage as usize].push(hook.clone());
        }
    }
    if new.iter().all(Vec::is_empty) {
        return Ok(false);
    }

    if spec.hooks.is_null() {
        spec.hooks = Value::Object(Map::new());
    }
    let Value::Object(stages) = &mut spec.hooks else { return Err(SpecError::HooksType) };
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

/// The hooks of one stage: deep equality as `Value`'s `==` decides it
/// (object keys in any order, numbers as written), with no quadratic
/// search. `Value` has no `Hash`, so each hook is filed under `hash_of`,
/// which agrees with `==`, and only hooks of the same hash are compared.
/// The table is a few lines of open addressing rather than std's
/// `HashMap`, which is 4 KiB of code for each type it is used with, in a
/// binary with a size budget.
struct Seen<'s, 'v> {
    state: &'s RandomState,
    hooks: Vec<(u64, &'v Value)>,
    /// Positions in `hooks`, plus one (0: empty); a power of two long, at
    /// most half full, probed linearly from the hash.
    slots: Vec<u32>,
}

impl<'s, 'v> Seen<'s, 'v> {
    fn new(state: &'s RandomState) -> Self {
        Seen { state, hooks: Vec::new(), slots: Vec::new() }
    }

    /// Adds `hook`; false when an equal one is there already.
    fn insert(&mut self, hook: &'v Value) -> bool {
        if 2 * (self.hooks.len() + 1) > self.slots.len() {
            self.slots = vec![0; (4 * (self.hooks.len() + 1)).next_power_of_two()];
            for n in 0..self.hooks.len() {
                let at = self.free_slot(self.hooks[n].0);
                self.slots[at] = n as u32 + 1;
            }
        }
        let hash = hash_of(self.state, hook);
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        while let Some(n) = self.slots[at].checked_sub(1) {
            let (other_hash, other) = self.hooks[n as usize];
            if other_hash == hash {
                #[cfg(test)]
                COMPARED.set(COMPARED.get() + 1);
                if other == hook {
                    return false;
                }
            }
            at = (at + 1) & mask;
        }
        self.slots[at] = self.hooks.len() as u32 + 1;
        self.hooks.push((hash, hook));
        true
    }

    /// The first empty slot for `hash`.
    fn free_slot(&self, hash: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        while self.slots[at] != 0 {
            at = (at + 1) & mask;
        }
        at
    }
}

// How many hooks `Seen` compared in full, in this thread: the tests'
// deterministic measure of the merge's work.
#[cfg(test)]
thread_local! {
    static COMPARED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A hash of `value` that equal values share: an object's members are
/// hashed one by one and summed, since `==` ignores their order. Keyed per
/// process (`RandomState`), so hooks in a bundle cannot be made to collide.
fn hash_of(state: &RandomState, value: &Value) -> u64 {
    let mut h = state.build_hasher();
    match value {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => h.write_u8(1 + u8::from(*b)),
        // With arbitrary_precision a number is its text, and `==` compares
        // that text.
        Value::Number(n) => {
            h.write_u8(3);
            h.write(n.as_str().as_bytes());
        }
        Value::String(s) => {
            h.write_u8(4);
            h.write(s.as_bytes());
        }
        Value::Array(items) => {
            h.write_u8(5);
            for item in items {
                h.write_u64(hash_of(state, item));
            }
        }
        Value::Object(members) => {
            let mut sum = 0u64;
            for (k, v) in members {
                let mut member = state.build_hasher();
                member.write(k.as_bytes());
                member.write_u64(hash_of(state, v));
                sum = sum.wrapping_add(member.finish());
            }
            h.write_u8(6);
            h.write_u64(sum);
        }
    }
    h.finish()
}

/// The spec's bytes with its `hooks` as merged: the old bytes around it
/// kept exactly. In a spec written indented, `hooks` is written indented
/// the same way; otherwise compactly, as Docker, containerd and podman
/// write specs.
pub fn to_bytes(spec: &Spec<'_>) -> Vec<u8> {
    let mut hooks = Vec::new();
    write_json(&mut hooks, &spec.hooks, spec.indent);

    let (range, append) = match spec.hooks_at {
        Place::Replace(ref r) => (r.clone(), None),
        Place::Append { at, first } => (at..at, Some(first)),
    };
    let mut out = Vec::with_capacity(spec.bytes.len() + hooks.len() + 16);
    out.extend_from_slice(&spec.bytes[..range.start]);
    if let Some(first) = append {
        if !first {
            out.push(b',');
        }
        match spec.indent {
            Some(indent) => {
                out.push(b'\n');
                out.extend_from_slice(indent);
                out.extend_from_slice(b"\"hooks\": ");
            }
            None => out.extend_from_slice(b"\"hooks\":"),
        }
    }
    // The value sits one level deep: every line after its first gains one
    // indent. A newline inside the JSON text is always layout, since
    // strings escape theirs.
    for &b in &hooks {
        out.push(b);
        if let (b'\n', Some(indent)) = (b, spec.indent) {
            out.extend_from_slice(indent);
        }
    }
    out.extend_from_slice(&spec.bytes[range.end..]);
    out
}

/// Parses a member the first scan left raw. Through `from_slice`, as every
/// other parse in the binary: each reader type serde_json is instantiated
/// with is a parser's worth of code in the binary.
fn from_raw(raw: &RawValue) -> Result<Value, SpecError> {
    serde_json::from_slice(raw.get().as_bytes()).map_err(|e| SpecError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(spec: &str, add: &[(Stage, Value)]) -> (String, bool) {
        let mut v = parse(spec.as_bytes()).unwrap();
        let changed = merge(&mut v, add.iter().map(|(s, h)| (*s, h))).unwrap();
        (String::from_utf8(to_bytes(&v)).unwrap(), changed)
    }

    #[test]
    fn prepends_in_order_and_keeps_existing_hooks_after() {
        let spec = r#"{"b":1,"hooks":{"prestart":[{"path":"/old"}],"poststop":[{"path":"/keep"}]},"a":2}"#;
        let (out, changed) =
            merged(spec, &[(Stage::Prestart, json!({"path": "/x"})), (Stage::Prestart, json!({"path": "/y"}))]);
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
    fn everything_outside_hooks_is_kept_byte_for_byte() {
        // Digits, escapes, exponents and spacing as written: only `hooks` is
        // rewritten.
        let spec = r#"{"linux":{"resources":{"memory":{"limit":18446744073709551615,"swap":-1},"cpu":{"shares":1.50}}}, "s" : "<a>\u00e9\"\\\n","f":1e3 ,"hooks" : {"prestart":[ ]} , "z":[ 1 ]} "#;
        let (out, _) = merged(spec, &[(Stage::Prestart, json!({"path": "/p"}))]);
        assert_eq!(
            out,
            r#"{"linux":{"resources":{"memory":{"limit":18446744073709551615,"swap":-1},"cpu":{"shares":1.50}}}, "s" : "<a>\u00e9\"\\\n","f":1e3 ,"hooks" : {"prestart":[{"path":"/p"}]} , "z":[ 1 ]} "#
        );
        let (out, _) = merged(
            spec.replace(r#""hooks" : {"prestart":[ ]} , "#, "").as_str(),
            &[(Stage::Prestart, json!({"path": "/p"}))],
        );
        assert!(out.ends_with(r#""z":[ 1 ],"hooks":{"prestart":[{"path":"/p"}]}} "#), "{out}");
    }

    #[test]
    fn wrong_types_are_errors_and_leave_the_spec_alone() {
        for doc in ["[]", "\"x\"", " 1 ", "null"] {
            assert_eq!(parse(doc.as_bytes()).unwrap_err(), SpecError::NotAnObject, "{doc}");
        }
        // Not an object and broken too: the JSON error, where it is.
        assert_eq!(parse(b"[1,").unwrap_err(), SpecError::Json("EOF while parsing a value at line 1 column 3".into()));
        assert_eq!(parse(b"{").unwrap_err(), SpecError::Json("EOF while parsing an object at line 1 column 1".into()));
        assert_eq!(parse(b"{}x").unwrap_err(), SpecError::Json("trailing characters at line 1 column 3".into()));
        assert_eq!(
            parse(b"{\"a\":[1,}").unwrap_err(),
            SpecError::Json("expected value at line 1 column 9".into()),
            "a member's value is checked even though it is never parsed"
        );
        assert_eq!(
            parse(b"{\"a\":\"\xff\"}").unwrap_err(),
            SpecError::Json("invalid unicode code point at line 1 column 7".into())
        );
        assert_eq!(parse(br#"{"hooks":{},"a":1,"hooks":{}}"#).unwrap_err(), repeated("hooks", None));
        for (spec, want) in [
            (r#"{"hooks":[]}"#, SpecError::HooksType),
            (r#"{"hooks":{"prestart":{}}}"#, SpecError::StageType(Stage::Prestart)),
        ] {
            let mut v = parse(spec.as_bytes()).unwrap();
            let before = v.hooks().clone();
            assert_eq!(merge(&mut v, [(Stage::Prestart, &json!({"path": "/p"}))]), Err(want));
            assert_eq!(*v.hooks(), before);
        }
        // A stage we do not add to may have any shape: it is not ours.
        let mut v = parse(br#"{"hooks":{"poststop":5}}"#).unwrap();
        assert_eq!(merge(&mut v, [(Stage::Prestart, &json!({"path": "/p"}))]), Ok(true));
    }

    #[test]
    fn other_members_can_be_read_as_written() {
        let v = parse(br#"{"a":{"x": 1},"b":2,"c":[3]}"#).unwrap();
        assert_eq!(v.member("a").unwrap().map(RawValue::get), Some(r#"{"x": 1}"#));
        assert_eq!(v.member("c").unwrap().map(RawValue::get), Some("[3]"));
        assert!(v.member("hooks").unwrap().is_none());
        assert_eq!(*v.hooks(), Value::Null);
        // A member given twice is read by no one the same way: Go merges
        // two objects, other decoders keep one.
        let v = parse(br#"{"a":{"x": 1},"b":2,"a":[3]}"#).unwrap();
        assert_eq!(v.member("a").unwrap_err(), repeated("a", None));
        assert_eq!(v.member("b").unwrap().map(RawValue::get), Some("2"));
    }

    fn repeated(key: &'static str, spelt: Option<&str>) -> SpecError {
        SpecError::Repeated { key, spelt: spelt.map(str::to_owned) }
    }

    /// Go's encoding/json rules, which runc reads `config.json` by (see
    /// `go_reads_as`): the exact key first, else a key equal to the field's
    /// name under Unicode simple case folding: ASCII letters in either
    /// case, U+212A KELVIN SIGN for `k`, U+017F LONG S for `s`. Nothing
    /// else: no other character folds onto an ASCII letter (U+0130 and
    /// U+0131, the Turkish dotted and dotless i, have no simple folding to
    /// `i`), and no Unicode normalisation happens.
    #[test]
    fn go_folding_rules() {
        for (key, name) in [
            ("hooks", "hooks"),
            ("HOOKS", "hooks"),
            ("hOoKs", "hooks"),
            ("hoo\u{212A}s", "hooks"),
            ("hook\u{017F}", "hooks"),
            ("HOO\u{212A}\u{017F}", "hooks"),
            ("Annotations", "annotations"),
            ("annotation\u{017F}", "annotations"),
            ("PROCESS", "process"),
            ("proce\u{017F}\u{017F}", "process"),
            ("Mounts", "mounts"),
        ] {
            assert!(go_reads_as(key, name), "{key:?} is {name} to Go");
        }
        for (key, name) in [
            ("hook", "hooks"),
            ("hookss", "hooks"),
            ("hooks ", "hooks"),
            ("h00ks", "hooks"),
            ("hoo\u{212A}", "hooks"),
            ("\u{0130}", "i"),
            ("\u{0131}", "i"),
            // Fullwidth letters fold among themselves, not onto ASCII.
            ("\u{FF48}ooks", "hooks"),
            ("", "hooks"),
        ] {
            assert!(!go_reads_as(key, name), "{key:?} is not {name} to Go");
        }
    }

    #[test]
    fn regression_a_key_go_reads_as_hooks_is_refused() {
        // Merged as is, runc would decode `"HOOKS": null` after `hooks` and
        // drop every hook the shim added.
        for (spec, spelt) in [
            (r#"{"hooks":{"prestart":[]},"HOOKS":null}"#, "HOOKS"),
            ("{\"hoo\u{212A}s\":{}}", "hoo\u{212A}s"),
            (r#"{"Hooks":{},"hooks":{}}"#, "Hooks"),
            (r#"{"hook\u017f":{}}"#, "hook\u{017F}"),
        ] {
            assert_eq!(parse(spec.as_bytes()).unwrap_err(), repeated("hooks", Some(spelt)), "{spec}");
        }
        assert_eq!(
            repeated("hooks", Some("hoo\u{212A}s")).to_string(),
            "hooks: given as \"hoo\\u{212A}s\", which runc reads as \"hooks\" (Go's encoding/json matches keys \
             without regard to case) and other runtimes do not"
        );
        assert_eq!(
            repeated("hooks", None).to_string(),
            "hooks: given more than once (runtimes disagree on which counts)"
        );
        // Keys that only look alike are other keys.
        assert!(parse(br#"{"hooks":{},"hook":1,"hooks_":2,"h\u00f6oks":3}"#).is_ok());
    }

    #[test]
    fn regression_a_key_go_reads_as_a_field_when_reads_is_refused_when_read() {
        let spec = parse(br#"{"annotations":{"a":"b"},"ANNOTATIONS":{"a":"c"},"Process":{},"mounts":[],"mounts":[]}"#)
            .unwrap();
        assert_eq!(spec.view(&["annotations"]), Err(repeated("annotations", Some("ANNOTATIONS"))));
        assert_eq!(spec.view(&["process"]), Err(repeated("process", Some("Process"))));
        assert_eq!(spec.view(&["mounts"]), Err(repeated("mounts", None)));
        // Only what is read: the rest of the spec is not the shim's to judge.
        assert!(spec.view(&["hooks", "root"]).is_ok());
    }

    #[test]
    fn regression_merging_many_hooks_is_not_quadratic() {
        // Each hook used to be searched for in the list of those before it:
        // 20,000 hooks took 2 x 10^8 comparisons, seconds. Counted, not
        // timed: each hook is now compared in full only with hooks of the
        // same hash, which for distinct hooks is (all but surely) none.
        const N: usize = 20_000;
        let hooks: Vec<Value> =
            (0..N).map(|n| json!({"path": format!("/h/{n}"), "args": ["h", n.to_string()]})).collect();
        let mut spec = parse(b"{}").unwrap();
        COMPARED.set(0);
        assert_eq!(merge(&mut spec, hooks.iter().map(|h| (Stage::Prestart, h))), Ok(true));
        assert!(COMPARED.get() < 10, "{} comparisons for {N} distinct hooks", COMPARED.get());

        // The same hooks again, and equal ones but for key order: each is
        // compared with the one it equals, and nothing is added.
        let out = to_bytes(&spec);
        let mut again = parse(&out).unwrap();
        let reordered: Vec<Value> =
            (0..N).map(|n| json!({"args": ["h", n.to_string()], "path": format!("/h/{n}")})).collect();
        COMPARED.set(0);
        assert_eq!(merge(&mut again, hooks.iter().chain(&reordered).map(|h| (Stage::Prestart, h))), Ok(false));
        assert!(COMPARED.get() < 2 * N + 10, "{} comparisons for {} hooks already there", COMPARED.get(), 2 * N);
        assert_eq!(again.hooks()["prestart"].as_array().map(Vec::len), Some(N));
    }

    #[test]
    fn equal_hooks_hash_alike_and_others_apart() {
        let state = RandomState::new();
        let h = |v: Value| hash_of(&state, &v);
        assert_eq!(h(json!({"a": [1, {"b": null, "c": "x"}]})), h(json!({"a": [1, {"c": "x", "b": null}]})));
        // Numbers are their text, as `==` compares them.
        let n = |t: &str| serde_json::from_str::<Value>(t).unwrap();
        assert_ne!(n("1.0"), n("1"));
        assert_ne!(h(n("1.0")), h(n("1")));
        assert_ne!(h(json!([1, 2])), h(json!([2, 1])));
        assert_ne!(h(json!({"a": 1, "b": 2})), h(json!({"a": 2, "b": 1})));
        assert_ne!(h(json!("1")), h(json!(1)));
        assert_ne!(h(json!(null)), h(json!(false)));
        let mut seen = Seen::new(&state);
        let (x, y) = (json!({"path": "/x"}), json!({"path": "/y"}));
        assert!(seen.insert(&x) && seen.insert(&y) && !seen.insert(&x));
    }

    #[test]
    fn an_empty_spec_gets_hooks() {
        for (spec, want) in [
            ("{}", r#"{"hooks":{"poststop":[{"path":"/p"}]}}"#),
            (" { } \n", " {\"hooks\":{\"poststop\":[{\"path\":\"/p\"}]} } \n"),
        ] {
            assert_eq!(merged(spec, &[(Stage::Poststop, json!({"path": "/p"}))]).0, want);
        }
    }

    #[test]
    fn indented_specs_stay_indented() {
        let spec = "{\n\t\"ociVersion\": \"1.0.2\",\n\t\"hooks\": {}\n}\n";
        let (out, _) = merged(spec, &[(Stage::Prestart, json!({"path": "/p"}))]);
        assert_eq!(
            out,
            "{\n\t\"ociVersion\": \"1.0.2\",\n\t\"hooks\": {\n\t\t\"prestart\": [\n\t\t\t{\n\t\t\t\t\"path\": \"/p\"\n\t\t\t}\n\t\t]\n\t}\n}\n"
        );
        // No hooks yet, as `runc spec` writes it: a new last member, indented.
        let spec = "{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\n    \"path\": \"rootfs\"\n  }\n}";
        let (out, _) = merged(spec, &[(Stage::Prestart, json!({"path": "/p", "args": ["p"]}))]);
        assert_eq!(
            out,
            "{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\n    \"path\": \"rootfs\"\n  },\n  \"hooks\": {\n    \"prestart\": [\n      {\n        \"path\": \"/p\",\n        \"args\": [\n          \"p\"\n        ]\n      }\n    ]\n  }\n}"
        );
    }
}

/// The merge's contract over generated specs and hook lists: it only ever
/// prepends, keeps everything else (keys, their order, their values), and
/// a second merge of the same hooks changes nothing.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Hooks from a small pool, so that additions repeat each other and
    /// the hooks already in the spec.
    fn hook() -> impl Strategy<Value = Value> {
        (0..5u8, prop::option::of(prop::collection::vec("[a-z]{0,3}", 0..3))).prop_map(|(n, args)| match args {
            Some(args) => json!({"path": format!("/hook/{n}"), "args": args}),
            None => json!({"path": format!("/hook/{n}")}),
        })
    }

    fn stage() -> impl Strategy<Value = Stage> {
        prop::sample::select(Stage::ALL.to_vec())
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            "[a-z<>\"\\\\é\n]{0,6}".prop_map(Value::from),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::vec(("[a-z]{1,4}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// A stage's value in the spec: mostly a hook list, sometimes null, and
    /// now and then something a runtime would reject.
    fn stage_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            6 => prop::collection::vec(hook(), 0..4).prop_map(Value::from),
            1 => Just(Value::Null),
            1 => leaf(),
        ]
    }

    fn hooks_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            8 => (prop::collection::vec((stage(), stage_value()), 0..4), prop::option::of(value())).prop_map(
                |(stages, extra)| {
                    let mut m: Map<String, Value> = stages.into_iter().map(|(s, v)| (s.name().to_owned(), v)).collect();
                    if let Some(extra) = extra {
                        m.insert("futureStage".into(), extra);
                    }
                    Value::Object(m)
                }
            ),
            1 => Just(Value::Null),
            1 => leaf(),
        ]
    }

    /// A spec's text: unique keys, `hooks` anywhere or absent, written
    /// compactly or indented.
    fn spec_text() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(("[a-z]{1,6}", value()), 0..6),
            prop::option::of((hooks_value(), any::<prop::sample::Index>())),
            0..3u8,
        )
            .prop_map(|(members, hooks, layout)| {
                // Unique keys, in the generated (unsorted) order.
                let mut seen = std::collections::HashSet::new();
                let mut members: Vec<(String, Value)> =
                    members.into_iter().filter(|(k, _)| k != "hooks" && seen.insert(k.clone())).collect();
                if let Some((h, at)) = hooks {
                    members.insert(at.index(members.len() + 1), ("hooks".into(), h));
                }
                let v = Value::Object(members.into_iter().collect());
                match layout {
                    0 => v.to_string(),
                    1 => serde_json::to_string_pretty(&v).unwrap(),
                    _ => {
                        let mut out = Vec::new();
                        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
                        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
                        serde::Serialize::serialize(&v, &mut ser).unwrap();
                        String::from_utf8(out).unwrap() + "\n"
                    }
                }
            })
    }

    fn members(v: &Value) -> Vec<(&String, &Value)> {
        v.as_object().unwrap().iter().collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn merge_only_prepends_keeps_the_rest_and_is_idempotent(
            text in spec_text(),
            additions in prop::collection::vec((stage(), hook()), 0..6),
        ) {
            let before: Value = serde_json::from_str(&text).unwrap();
            let old_hooks = before.get("hooks").cloned().unwrap_or(Value::Null);
            let mut spec = parse(text.as_bytes()).unwrap();
            let result = merge(&mut spec, additions.iter().map(|(s, h)| (*s, h)));

            // The errors: exactly when hooks, or a stage added to, has the
            // wrong shape; and then nothing changed.
            let stage_of = |s: Stage| old_hooks.get(s.name()).cloned().unwrap_or(Value::Null);
            let bad_stage = additions.iter().map(|(s, _)| *s).find(|s| !matches!(stage_of(*s), Value::Null | Value::Array(_)));
            if !matches!(old_hooks, Value::Null | Value::Object(_)) {
                prop_assert_eq!(result, Err(SpecError::HooksType));
                prop_assert_eq!(spec.hooks(), &old_hooks);
                return Ok(());
            }
            if let Some(s) = bad_stage {
                // The first bad stage in configured order.
                prop_assert_eq!(result, Err(SpecError::StageType(s)));
                prop_assert_eq!(spec.hooks(), &old_hooks);
                return Ok(());
            }
            let changed = result.unwrap();
            let out = if changed { to_bytes(&spec) } else { text.clone().into_bytes() };
            let after: Value = serde_json::from_slice(&out).unwrap();

            // Every other member kept, in order; hooks keeps its place or
            // comes last.
            let others = |v: &Value| members(v).into_iter().filter(|(k, _)| *k != "hooks").map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
            prop_assert_eq!(others(&after), others(&before));
            let hooks_at = |v: &Value| v.as_object().unwrap().keys().position(|k| k == "hooks");
            if let Some(i) = hooks_at(&before) {
                prop_assert_eq!(hooks_at(&after), Some(i));
            } else if changed {
                prop_assert_eq!(hooks_at(&after), Some(before.as_object().unwrap().len()));
            }

            // Each stage: the new hooks (configured order, once each, not
            // already there), then the old list unchanged.
            let new_hooks = after.get("hooks").cloned().unwrap_or(Value::Null);
            for s in Stage::ALL {
                let old = stage_of(s);
                let old_list = old.as_array().cloned().unwrap_or_default();
                let mut want: Vec<Value> = Vec::new();
                for (_, h) in additions.iter().filter(|(t, _)| *t == s) {
                    if !old_list.contains(h) && !want.contains(h) {
                        want.push(h.clone());
                    }
                }
                if want.is_empty() {
                    prop_assert_eq!(new_hooks.get(s.name()).cloned().unwrap_or(Value::Null), old);
                } else {
                    want.extend(old_list);
                    prop_assert_eq!(new_hooks.get(s.name()), Some(&Value::Array(want)));
                }
            }
            // Keys of hooks that are not stages we add to stay as they were.
            if let Value::Object(old) = &old_hooks {
                for (k, v) in old {
                    if !additions.iter().any(|(s, _)| s.name() == k) {
                        prop_assert_eq!(new_hooks.get(k), Some(v));
                    }
                }
            }
            prop_assert_eq!(changed, after != before);

            // Idempotent: the same hooks again change nothing.
            let mut again = parse(&out).unwrap();
            prop_assert_eq!(merge(&mut again, additions.iter().map(|(s, h)| (*s, h))), Ok(false));
        }
    }
}
