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

use crate::json::write_json;

mod merge;
mod parse;

pub use merge::merge;
use parse::Place;
pub use parse::{parse, Spec, SpecError, Stage};

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

#[cfg(test)]
mod tests;

/// The merge's contract over generated specs and hook lists: it only ever
/// prepends, keeps everything else (keys, their order, their values), and
/// a second merge of the same hooks changes nothing.
#[cfg(test)]
mod properties;
