//! The spec's parse, merge and write-back, case by case.

use super::merge::{hash_of, Seen, COMPARED};
use super::*;
use serde_json::json;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::hash_map::RandomState;

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
    assert_eq!(parse(br#"{"hooks":{},"a":1,"hooks":{}}"#).unwrap_err(), repeated("", "hooks", &["hooks", "hooks"]));
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
    assert_eq!(v.member("a").unwrap_err(), repeated("", "a", &["a", "a"]));
    assert_eq!(v.member("b").unwrap().map(RawValue::get), Some("2"));
}

fn repeated(at: &str, name: &'static str, keys: &[&str]) -> SpecError {
    SpecError::Repeated { at: at.to_owned(), name, keys: keys.iter().map(|k| (*k).to_owned()).collect() }
}

#[test]
fn regression_a_key_go_reads_as_hooks_is_refused() {
    // Merged as is, runc would decode `"HOOKS": null` after `hooks` and
    // drop every hook the shim added.
    for (spec, keys) in [
        (r#"{"hooks":{"prestart":[]},"HOOKS":null}"#, &["hooks", "HOOKS"][..]),
        ("{\"hoo\u{212A}s\":{}}", &["hoo\u{212A}s"]),
        (r#"{"Hooks":{},"hooks":{}}"#, &["Hooks", "hooks"]),
        (r#"{"hook\u017f":{}}"#, &["hook\u{017F}"]),
    ] {
        assert_eq!(parse(spec.as_bytes()).unwrap_err(), repeated("", "hooks", keys), "{spec}");
    }
    assert_eq!(
        repeated("", "hooks", &["hoo\u{212A}s"]).to_string(),
        "hooks: given as \"hoo\\u{212A}s\", which runc reads as \"hooks\" (Go's encoding/json matches keys \
         without regard to case) and other runtimes do not"
    );
    assert_eq!(
        repeated("", "hooks", &["hooks", "hooks"]).to_string(),
        "hooks: given more than once (runtimes disagree on which counts)"
    );
    // Keys that only look alike are other keys.
    assert!(parse(br#"{"hooks":{},"hook":1,"hooks_":2,"h\u00f6oks":3}"#).is_ok());
}

/// Issue 20: `"Prestart": []` beside `prestart` was merged into, and runc,
/// reading the last key Go matches, ran no prestart hook at all.
#[test]
fn regression_a_stage_go_folds_onto_another_is_refused() {
    for (spec, stage, keys) in [
        (r#"{"hooks":{"prestart":[{"path":"/bin/a"}],"Prestart":[]}}"#, "prestart", &["prestart", "Prestart"][..]),
        ("{\"hooks\":{\"pre\u{17F}tart\":[]}}", "prestart", &["pre\u{17F}tart"]),
        (r#"{"hooks":{"poststop":[],"poststop":[]}}"#, "poststop", &["poststop", "poststop"]),
        (
            r#"{"hooks":{"CREATERUNTIME":null,"createRuntime":[]}}"#,
            "createRuntime",
            &["CREATERUNTIME", "createRuntime"],
        ),
    ] {
        assert_eq!(parse(spec.as_bytes()).unwrap_err(), repeated("hooks", stage, keys), "{spec}");
    }
    assert_eq!(
        repeated("hooks", "prestart", &["prestart", "Prestart"]).to_string(),
        "hooks.prestart: given as \"prestart\" and as \"Prestart\", which runc reads as one field, \"prestart\" \
         (Go's encoding/json matches keys without regard to case, and the last one wins), and other runtimes as two"
    );
    // Other keys of hooks are not stages, and hooks of another type is the
    // merge's to refuse.
    assert!(parse(br#"{"hooks":{"prestart":[],"prestarts":[],"Future":1,"future":2}}"#).is_ok());
    assert!(parse(br#"{"hooks":[{"Prestart":1,"prestart":2}]}"#).is_ok());
}

#[test]
fn regression_a_key_go_reads_as_a_field_when_reads_is_refused_when_read() {
    let spec =
        parse(br#"{"annotations":{"a":"b"},"ANNOTATIONS":{"a":"c"},"Process":{},"mounts":[],"mounts":[]}"#).unwrap();
    assert_eq!(spec.view(&["annotations"]), Err(repeated("", "annotations", &["annotations", "ANNOTATIONS"])));
    assert_eq!(spec.view(&["process"]), Err(repeated("", "process", &["Process"])));
    assert_eq!(spec.view(&["mounts"]), Err(repeated("", "mounts", &["mounts", "mounts"])));
    // Only what is read: the rest of the spec is not the shim's to judge.
    assert!(spec.view(&["hooks", "root"]).is_ok());
}

/// Issue 20: with `process.Args` beside `process.args`, `when.commands`
/// matched `args` and runc ran `Args`; a mount's `Type` or `Options` beside
/// its own misled `hasBindMounts` the same way.
#[test]
fn regression_a_field_below_the_top_go_folds_onto_another_is_refused_when_read() {
    for (spec, at, name, keys) in [
        (r#"{"process":{"args":["/bin/a"],"Args":["/bin/b"]}}"#, "process", "args", &["args", "Args"][..]),
        (r#"{"process":{"ARGS":["/bin/b"]}}"#, "process", "args", &["ARGS"]),
        (r#"{"mounts":[{"type":"proc"},{"type":"bind","TYPE":"proc"}]}"#, "mounts[1]", "type", &["type", "TYPE"]),
        ("{\"mounts\":[{\"option\u{17F}\":[\"rbind\"]}]}", "mounts[0]", "options", &["option\u{17F}"]),
    ] {
        let view = parse(spec.as_bytes()).unwrap().view(&["process", "mounts"]);
        assert_eq!(view, Err(repeated(at, name, keys)), "{spec}");
    }
    assert_eq!(
        repeated("process", "args", &["args", "Args"]).to_string(),
        "process.args: given as \"args\" and as \"Args\", which runc reads as one field, \"args\" (Go's \
         encoding/json matches keys without regard to case, and the last one wins), and other runtimes as two"
    );
    // Fields nothing reads, and values of other types, are not judged here.
    let spec = parse(br#"{"process":{"args":["a"],"Env":[],"env":[]},"mounts":[1,{"Source":"a","source":"b"}]}"#);
    assert!(spec.unwrap().view(&["process", "mounts"]).is_ok());
    assert!(parse(br#"{"process":[{"Args":1,"args":2}],"mounts":{"a":1}}"#)
        .unwrap()
        .view(&["process", "mounts"])
        .is_ok());
}

#[test]
fn regression_merging_many_hooks_is_not_quadratic() {
    // Each hook used to be searched for in the list of those before it:
    // 20,000 hooks took 2 x 10^8 comparisons, seconds. Counted, not
    // timed: each hook is now compared in full only with hooks of the
    // same hash, which for distinct hooks is (all but surely) none.
    const N: usize = 20_000;
    let hooks: Vec<Value> = (0..N).map(|n| json!({"path": format!("/h/{n}"), "args": ["h", n.to_string()]})).collect();
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
