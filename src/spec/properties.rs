//! The merge's contract, over generated specs and hook lists.

use super::*;
use proptest::prelude::*;
use serde_json::json;
use serde_json::{Map, Value};

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
            prop::collection::vec(("[a-z]{1,4}", inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
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
