//! The spec as text: parsing it, the members and fields a reader may see,
//! each checked to be what runc's Go decoder reads, and the error type.
//!
//! Pure. Only `hooks` is parsed in full; every other top-level member stays
//! the bytes it was written as until a reader asks for it (`view`).

use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::go_fold::go_reads_as;
use crate::json::indent_of;

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
    /// A field runtimes may read differently: the object at `at` (`""` at
    /// the top) has `keys` (as written: two of them, or one that is not
    /// `name`), which Go's encoding/json, and so runc, all reads as the
    /// field `name`.
    Repeated {
        at: String,
        name: &'static str,
        keys: Vec<String>,
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
            SpecError::Repeated { at, name, keys } => {
                let field = if at.is_empty() { (*name).to_owned() } else { format!("{at}.{name}") };
                match keys.as_slice() {
                    [a, b] if a == name && b == name => {
                        write!(f, "{field}: given more than once (runtimes disagree on which counts)")
                    }
                    [a, b] => write!(
                        f,
                        "{field}: given as \"{}\" and as \"{}\", which runc reads as one field, \"{name}\" (Go's \
                         encoding/json matches keys without regard to case, and the last one wins), and other \
                         runtimes as two",
                        escape_non_ascii(a),
                        escape_non_ascii(b)
                    ),
                    keys => write!(
                        f,
                        "{field}: given as \"{}\", which runc reads as \"{name}\" (Go's encoding/json matches \
                         keys without regard to case) and other runtimes do not",
                        escape_non_ascii(keys.first().map_or("", String::as_str))
                    ),
                }
            }
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
    pub(super) bytes: &'a [u8],
    pub(super) members: Vec<(String, &'a RawValue)>,
    /// `Null` when the spec has no `hooks`.
    pub(super) hooks: Value,
    /// Where the `hooks` value goes when the spec is written back.
    pub(super) hooks_at: Place,
    /// The indentation of a spec written indented (as `runc spec` does).
    pub(super) indent: Option<&'a [u8]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Place {
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
        the_member(&self.members, "", key)
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
                (_, Some(raw)) => {
                    check_below(key, raw)?;
                    from_raw(raw)?
                }
                (_, None) => continue,
            };
            out.insert(key.to_owned(), value);
        }
        Ok(Value::Object(out))
    }
}

/// The spec's `hooks`, parsed, once each of its stages is known to be the
/// one runc reads.
fn hooks_of(raw: &RawValue) -> Result<Value, SpecError> {
    let Some(members) = members_of(raw)? else { return from_raw(raw) };
    for stage in Stage::ALL {
        the_member(&members, "hooks", stage.name())?;
    }
    let mut hooks = Map::new();
    for (key, value) in members {
        hooks.insert(key, from_raw(value)?);
    }
    Ok(Value::Object(hooks))
}

/// Checks that the fields below the top-level member `key` that a reader
/// of the view uses (`when`: `process.args`, each mount's `type` and
/// `options`) are the ones runc reads. A member of another type is left to
/// the reader, which refuses it by type.
fn check_below(key: &str, raw: &RawValue) -> Result<(), SpecError> {
    match key {
        "process" => {
            if let Some(members) = members_of(raw)? {
                the_member(&members, "process", "args")?;
            }
        }
        "mounts" if raw.get().starts_with('[') => {
            let mounts: Vec<&RawValue> =
                serde_json::from_slice(raw.get().as_bytes()).map_err(|e| SpecError::Json(e.to_string()))?;
            for (i, mount) in mounts.into_iter().enumerate() {
                if let Some(members) = members_of(mount)? {
                    let at = format!("mounts[{i}]");
                    the_member(&members, &at, "type")?;
                    the_member(&members, &at, "options")?;
                }
            }
        }
        _ => {}
    }
    Ok(())
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
    let (hooks, hooks_at) = match the_member(&members, "", "hooks")? {
        Some(raw) => (hooks_of(raw)?, Place::Replace(span(bytes, raw))),
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

/// The member `name` of the object at `at` (its `members`), unless
/// runtimes may read the object differently: `name` twice (Go merges both
/// values, others take one), or a key that is not `name` but that Go's
/// encoding/json matches to it, which runc then reads as `name` and a
/// runtime in another language ignores.
fn the_member<'a>(
    members: &[(String, &'a RawValue)],
    at: &str,
    name: &'static str,
) -> Result<Option<&'a RawValue>, SpecError> {
    let mut matching = members.iter().filter(|(k, _)| go_reads_as(k, name));
    match (matching.next(), matching.next()) {
        (None, _) => Ok(None),
        (Some((k, v)), None) if k == name => Ok(Some(*v)),
        (Some((a, _)), b) => Err(SpecError::Repeated {
            at: at.to_owned(),
            name,
            keys: [Some(a), b.map(|(k, _)| k)].into_iter().flatten().cloned().collect(),
        }),
    }
}

/// The members of a value the first scan left raw, when it is an object
/// (None for any other value, which the readers judge by type).
fn members_of(raw: &RawValue) -> Result<Option<Vec<(String, &RawValue)>>, SpecError> {
    if !raw.get().starts_with('{') {
        return Ok(None);
    }
    let Members(members) = serde_json::from_slice(raw.get().as_bytes()).map_err(|e| SpecError::Json(e.to_string()))?;
    Ok(Some(members))
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

/// Parses a member the first scan left raw. Through `from_slice`, as every
/// other parse in the binary: each reader type serde_json is instantiated
/// with is a parser's worth of code in the binary.
fn from_raw(raw: &RawValue) -> Result<Value, SpecError> {
    serde_json::from_slice(raw.get().as_bytes()).map_err(|e| SpecError::Json(e.to_string()))
}
