//! The merge of configured hooks into a spec's stages: prepended, each
//! hook once, linear in the number of hooks.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use serde_json::{Map, Value};

use super::parse::{Spec, SpecError, Stage};

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
pub(super) struct Seen<'s, 'v> {
    state: &'s RandomState,
    hooks: Vec<(u64, &'v Value)>,
    /// Positions in `hooks`, plus one (0: empty); a power of two long, at
    /// most half full, probed linearly from the hash.
    slots: Vec<u32>,
}

impl<'s, 'v> Seen<'s, 'v> {
    pub(super) fn new(state: &'s RandomState) -> Self {
        Seen { state, hooks: Vec::new(), slots: Vec::new() }
    }

    /// Adds `hook`; false when an equal one is there already.
    pub(super) fn insert(&mut self, hook: &'v Value) -> bool {
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
    pub(super) static COMPARED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A hash of `value` that equal values share: an object's members are
/// hashed one by one and summed, since `==` ignores their order. Keyed per
/// process (`RandomState`), so hooks in a bundle cannot be made to collide.
pub(super) fn hash_of(state: &RandomState, value: &Value) -> u64 {
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
