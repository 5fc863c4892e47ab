//! The `daemon.json` merge and its reversal on many shapes of the file:
//! its layout kept, repeated and folded keys refused.

use super::*;
use serde_json::json;

fn rt() -> Runtime {
    Runtime {
        name: "oci-add-hooks".into(),
        path: "/usr/local/bin/oci-add-hooks".into(),
        args: vec!["--runtime-path".into(), "runc".into()],
    }
}

const ENTRY: &str = r#"{"path":"/usr/local/bin/oci-add-hooks","runtimeArgs":["--runtime-path","runc"]}"#;

/// Merges into `text`, returns the new text and the changes' log lines.
fn merged(text: Option<&str>, set_default: bool) -> (String, Vec<String>) {
    let mut doc = parse(text.map(str::as_bytes)).unwrap();
    let changes = merge(&mut doc.config, &rt(), set_default).unwrap();
    let out = String::from_utf8(to_bytes(&doc)).unwrap();
    (out, changes.iter().map(ToString::to_string).collect())
}

/// Unmerges `text` with `previous`.
fn unmerged(text: &str, previous: &Previous) -> (String, Vec<String>) {
    let mut doc = parse(Some(text.as_bytes())).unwrap();
    let changes = unmerge(&mut doc.config, "oci-add-hooks", "/usr/local/bin/oci-add-hooks", previous).unwrap();
    (String::from_utf8(to_bytes(&doc)).unwrap(), changes.iter().map(ToString::to_string).collect())
}

/// What install would record from the changes of a merge.
fn previous_of(changes: &[Change]) -> Previous {
    let mut p = Previous::default();
    for c in changes {
        match c {
            Change::ReplacedRuntime { was, .. } => p.runtime = Some(was.clone()),
            Change::SetDefault { was, .. } => {
                p.set_default = true;
                p.default = was.clone();
            }
            _ => {}
        }
    }
    p
}

/// Merge then unmerge gives back the same bytes, and merging twice
/// changes nothing the second time.
fn round_trip(text: Option<&str>, set_default: bool) {
    let mut doc = parse(text.map(str::as_bytes)).unwrap();
    let changes = merge(&mut doc.config, &rt(), set_default).unwrap();
    assert!(!changes.is_empty(), "{text:?}");
    let once = to_bytes(&doc);
    assert_eq!(read_back(&doc).unwrap(), once, "{text:?}: written as it reads");
    assert!(merge(&mut doc.config, &rt(), set_default).unwrap().is_empty(), "second merge of {text:?}");
    assert_eq!(to_bytes(&doc), once);
    let undone = unmerge(&mut doc.config, "oci-add-hooks", &rt().path, &previous_of(&changes)).unwrap();
    assert!(!undone.is_empty());
    let back = String::from_utf8(to_bytes(&doc)).unwrap();
    match text {
        Some(t) if !t.trim().is_empty() => assert_eq!(back, t, "round trip of {t:?}"),
        _ => assert_eq!(back, "{}\n"),
    }
    assert!(unmerge(&mut doc.config, "oci-add-hooks", &rt().path, &previous_of(&changes)).unwrap().is_empty());
}

#[test]
fn a_missing_or_empty_file_becomes_an_indented_object_with_our_runtime() {
    let want = format!(
        "{}\n",
        serde_json::to_string_pretty(
            &json!({"runtimes": {"oci-add-hooks": serde_json::from_str::<Value>(ENTRY).unwrap()}})
        )
        .unwrap()
    );
    for text in [None, Some(""), Some("  \n")] {
        let (out, log) = merged(text, false);
        assert_eq!(out, want, "{text:?}");
        assert_eq!(log, ["added runtimes.oci-add-hooks"]);
        assert!(parse(text.map(str::as_bytes)).unwrap().was_empty);
    }
    assert!(!parse(Some(b"{}")).unwrap().was_empty);
}

#[test]
fn other_keys_values_and_order_are_kept() {
    let text = "{\n    \"log-level\": \"warn\",\n    \"runtimes\": {\n        \"nvidia\": {\n            \"path\": \"nvidia-container-runtime\"\n        }\n    },\n    \"storage-driver\": \"overlay2\",\n    \"max-concurrent-downloads\": 18446744073709551615\n}\n";
    let (out, log) = merged(Some(text), false);
    assert_eq!(log, ["added runtimes.oci-add-hooks"]);
    let want = "{\n    \"log-level\": \"warn\",\n    \"runtimes\": {\n        \"nvidia\": {\n            \"path\": \"nvidia-container-runtime\"\n        },\n        \"oci-add-hooks\": {\n            \"path\": \"/usr/local/bin/oci-add-hooks\",\n            \"runtimeArgs\": [\n                \"--runtime-path\",\n                \"runc\"\n            ]\n        }\n    },\n    \"storage-driver\": \"overlay2\",\n    \"max-concurrent-downloads\": 18446744073709551615\n}\n";
    assert_eq!(out, want);
    round_trip(Some(text), false);
}

#[test]
fn layouts_are_kept_tabs_compact_no_newline_and_bom() {
    let (out, _) = merged(Some("{\n\t\"debug\": true\n}"), false);
    assert!(out.starts_with("{\n\t\"debug\": true,\n\t\"runtimes\": {\n\t\t\"oci-add-hooks\""), "{out}");
    assert!(out.ends_with('}'));
    let (out, _) = merged(Some("{\"debug\":true}\n"), false);
    assert_eq!(out, format!("{{\"debug\":true,\"runtimes\":{{\"oci-add-hooks\":{ENTRY}}}}}\n"));
    let (out, _) = merged(Some("\u{feff}{\"debug\":true}"), false);
    assert!(out.starts_with("\u{feff}{\"debug\":true,"));
    for text in ["{\n\t\"debug\": true\n}", "{\"debug\":true}\n", "\u{feff}{\"debug\":true}", "{}", "{}\n"] {
        round_trip(Some(text), false);
        round_trip(Some(text), true);
    }
    round_trip(None, true);
}

#[test]
fn our_entry_is_updated_in_place_and_an_equal_one_is_no_change() {
    let text = r#"{"runtimes":{"a":{"path":"/a"},"oci-add-hooks":{"path":"/old"},"z":{"path":"/z"}}}"#;
    let (out, log) = merged(Some(text), false);
    assert_eq!(out, format!(r#"{{"runtimes":{{"a":{{"path":"/a"}},"oci-add-hooks":{ENTRY},"z":{{"path":"/z"}}}}}}"#));
    assert_eq!(log, [r#"replaced runtimes.oci-add-hooks (was {"path":"/old"})"#]);
    let (again, log) = merged(Some(&out), false);
    assert_eq!(again, out);
    assert!(log.is_empty());
    // Uninstall puts back what install replaced.
    let mut doc = parse(Some(text.as_bytes())).unwrap();
    let changes = merge(&mut doc.config, &rt(), false).unwrap();
    let (back, log) = unmerged(&String::from_utf8(to_bytes(&doc)).unwrap(), &previous_of(&changes));
    assert_eq!(back, text);
    assert_eq!(log, ["restored runtimes.oci-add-hooks to what it was before install"]);
}

#[test]
fn set_default_records_and_restores_a_different_default() {
    let text = r#"{"default-runtime":"runc","runtimes":{"x":{"path":"/x"}}}"#;
    let (out, log) = merged(Some(text), true);
    assert_eq!(
        out,
        format!(r#"{{"default-runtime":"oci-add-hooks","runtimes":{{"x":{{"path":"/x"}},"oci-add-hooks":{ENTRY}}}}}"#)
    );
    assert_eq!(log, ["added runtimes.oci-add-hooks", r#"set default-runtime to "oci-add-hooks" (was "runc")"#]);
    let (back, log) = unmerged(&out, &Previous { runtime: None, set_default: true, default: Some(json!("runc")) });
    assert_eq!(back, text);
    assert_eq!(log, ["removed runtimes.oci-add-hooks", r#"reset default-runtime to "runc""#]);
    // Without --set-default the default is not touched.
    let (out, _) = merged(Some(text), false);
    assert!(out.starts_with(r#"{"default-runtime":"runc""#));
}

#[test]
fn unmerge_leaves_someone_elses_entry_and_default_alone() {
    let text = r#"{"default-runtime":"oci-add-hooks","runtimes":{"oci-add-hooks":{"path":"/opt/other"}}}"#;
    let (out, log) = unmerged(text, &Previous { set_default: true, ..Previous::default() });
    // The default names a runtime that still exists (theirs): install did
    // set it, so it is reset; the entry is not ours and stays.
    assert_eq!(out, r#"{"runtimes":{"oci-add-hooks":{"path":"/opt/other"}}}"#);
    assert_eq!(log, ["removed default-runtime (it was not set before install)"]);
    let (out, log) = unmerged(text, &Previous::default());
    assert_eq!(out, text);
    assert!(log.is_empty());
}

#[test]
fn unmerge_without_a_record_never_leaves_a_default_naming_a_missing_runtime() {
    let text =
        format!(r#"{{"default-runtime":"oci-add-hooks","runtimes":{{"oci-add-hooks":{ENTRY},"b":{{"path":"/b"}}}}}}"#);
    let (out, log) = unmerged(&text, &Previous::default());
    assert_eq!(out, r#"{"runtimes":{"b":{"path":"/b"}}}"#);
    assert_eq!(log, ["removed runtimes.oci-add-hooks", "removed default-runtime (it was not set before install)"]);
}

#[test]
fn unmerge_of_a_document_without_us_changes_nothing() {
    for text in ["{}", r#"{"runtimes":{}}"#, r#"{"runtimes":null,"default-runtime":"runc"}"#] {
        let (out, log) = unmerged(text, &Previous { set_default: true, default: None, runtime: None });
        assert_eq!(out, text);
        assert!(log.is_empty());
    }
}

#[test]
fn dockerd_is_shown_an_empty_runtimes_and_the_stock_default_for_keys_the_file_drops() {
    let before = parse(Some(
        format!(r#"{{"default-runtime":"oci-add-hooks","runtimes":{{"oci-add-hooks":{ENTRY}}},"debug":true}}"#)
            .as_bytes(),
    ))
    .unwrap()
    .config;
    let mut after = before.clone();
    let changes =
        unmerge(&mut after, "oci-add-hooks", &rt().path, &Previous { set_default: true, ..Previous::default() })
            .unwrap();
    assert_eq!(changes.len(), 3);
    assert_eq!(Value::Object(after.clone()).to_string(), r#"{"debug":true}"#);
    let (shown, kept) = for_reload(&before, &after).unwrap();
    assert_eq!(Value::Object(shown).to_string(), r#"{"debug":true,"runtimes":{},"default-runtime":"runc"}"#);
    assert_eq!(kept, [RUNTIMES, DEFAULT_RUNTIME_KEY]);
    // A document that keeps both keys is shown as it is.
    let mut other = before.clone();
    merge(&mut other, &Runtime { name: "x".into(), path: "/x".into(), args: vec![] }, true).unwrap();
    assert_eq!(for_reload(&before, &other), None);
    assert_eq!(for_reload(&Map::new(), &before), None);
}

#[test]
fn regression_duplicate_keys_were_collapsed_to_the_last() {
    let repeat = "given more than once; dockerd (Go) merges the repeats into one, and install would keep only \
                  the last: make it one key";
    for (text, field) in [
        (r#"{"runtimes":{"x":{"path":"/x"}},"runtimes":{"y":{"path":"/y"}}}"#, "runtimes"),
        (r#"{"runtimes":{"x":{"path":"/x"},"x":{"path":"/y"}}}"#, "runtimes.x"),
        (r#"{"debug":true,"builder":{"gc":{"enabled":true},"gc":{"defaultKeepStorage":"1GB"}}}"#, "builder.gc"),
        (r#"{"hosts":[{"a":1,"a":2}]}"#, "hosts[0].a"),
    ] {
        assert_eq!(parse(Some(text.as_bytes())).unwrap_err().to_string(), format!("{field}: {repeat}"), "{text}");
    }
    for (text, key, edited) in [
        (r#"{"Runtimes":{}}"#, "Runtimes", "runtimes"),
        ("{\"runtime\u{17f}\":{}}", "runtime\u{17f}", "runtimes"),
        (r#"{"Default-Runtime":"x","runtimes":{}}"#, "Default-Runtime", "default-runtime"),
    ] {
        let want = format!(
            "{key}: dockerd (Go) reads this key as {edited:?}, which it matches without case, and install edits \
             only {edited:?}: spell it {edited:?}"
        );
        assert_eq!(parse(Some(text.as_bytes())).unwrap_err().to_string(), want, "{text}");
    }
    // Numbers (arbitrary_precision), nesting, arrays and other case
    // variants below the top level are fine.
    let ok = r#"{"a":1.5e300,"b":[1,{"c":null}],"runtimes":{"x":{"Path":"/x","path":"/x"}},"KELVIN":"\u212a"}"#;
    assert!(parse(Some(ok.as_bytes())).is_ok());
    assert_eq!(go_folded("RuNtImE\u{17f}"), Some("runtimes".into()));
    assert_eq!(go_folded("\u{212a}ey"), Some("key".into()));
    assert_eq!(go_folded("r\u{fc}n"), None);
}

#[test]
fn null_runtimes_is_replaced_by_an_object() {
    let (out, _) = merged(Some(r#"{"runtimes":null}"#), false);
    assert_eq!(out, format!(r#"{{"runtimes":{{"oci-add-hooks":{ENTRY}}}}}"#));
}

#[test]
fn unparseable_files_are_refused_with_the_reason() {
    let cases = [
        ("{\n  // comment\n  \"debug\": true\n}", "not valid JSON (key must be a string at line 2 column 3)"),
        ("{\"debug\": true}\n{}", "not valid JSON (trailing characters at line 2 column 1)"),
        ("{\"debug\": true,}", "not valid JSON (trailing comma at line 1 column 16)"),
        ("{\"debug\": tru", "not valid JSON (EOF while parsing a value at line 1 column 13)"),
    ];
    for (text, want) in cases {
        let err = parse(Some(text.as_bytes())).unwrap_err().to_string();
        assert!(err.starts_with(want), "{text:?}: {err}");
        assert!(err.contains("dockerd accepts only plain JSON"), "{err}");
    }
    assert_eq!(parse(Some(b"[]")).unwrap_err().to_string(), "(top level): must be a JSON object");
}

#[test]
fn wrong_types_are_refused_naming_the_field_and_nothing_changes() {
    for (text, want) in [
        (r#"{"runtimes":[]}"#, r#"runtimes: must be an object of runtime name to {"path", "runtimeArgs"}, not []"#),
        (r#"{"runtimes":{},"default-runtime":1}"#, "default-runtime: must be a runtime name (a string), not 1"),
    ] {
        let mut doc = parse(Some(text.as_bytes())).unwrap();
        let before = doc.clone();
        assert_eq!(merge(&mut doc.config, &rt(), true).unwrap_err().to_string(), want);
        assert_eq!(doc, before);
        let err = unmerge(&mut doc.config, "oci-add-hooks", "/p", &Previous::default()).unwrap_err();
        assert_eq!(err.to_string(), want);
        assert_eq!(doc, before);
    }
}
