//! `when`: conditions, the container facts, the evaluation and the
//! patterns, case by case.

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
        ("commands: unanchored search", json!({"commands": ["sh"]}), spec(json!({}), "/bin/bash", NO_MOUNTS()), true),
        (
            "commands: anchored by the writer",
            json!({"commands": ["^sh$"]}),
            spec(json!({}), "/bin/sh", NO_MOUNTS()),
            false,
        ),
        // oci-hooks(5): oci-umount when the container bind-mounts host directories.
        ("hasBindMounts: type bind", json!({"hasBindMounts": true}), spec(json!({}), "/bin/sh", docker_bind()), true),
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
    assert!(bad_value.starts_with("when.annotations[\"a\"]: value \"[z-a]\" is not a valid regex: "), "{bad_value}");
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
        (json!({"mounts": [{"options": [1]}]}), "mounts[0]: must be an object with a string type and string options"),
    ] {
        assert_eq!(Container::of(&s).unwrap_err().to_string(), want, "{s}");
    }
}

fn go_match(pattern: &str, text: &str) -> Result<bool, String> {
    super::go_match(pattern, text)
}

/// Issue 20: regex-lite took these, Go's regexp (so podman and CRI-O)
/// refuses them, and `install --crio` wrote them into files that made
/// podman fail every container.
#[test]
fn regression_patterns_go_refuses_are_refused() {
    for (pattern, why) in [
        ("(?x)a", "invalid or unsupported Perl syntax: `(?x`"),
        ("(?R)", "invalid or unsupported Perl syntax: `(?R`"),
        ("(?<n>a)", "invalid or unsupported Perl syntax: `(?<`"),
        ("a{1001}", "invalid repeat size: `{1001}`"),
        ("(a{500}){3}", "invalid repeat size: `{3}`"),
        ("a**", "invalid nested repetition operator: `**`"),
        ("a+?*", "invalid nested repetition operator: `+?*`"),
        (r"\Z", "invalid escape sequence: `\\Z`"),
        (r"\C", "invalid escape sequence: `\\C`"),
        (r"\1", "invalid escape sequence: `\\1`"),
        (r"[\b]", "invalid escape sequence: `\\b`"),
        ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
        ("(?i-)", "invalid or unsupported Perl syntax: `(?i-)`"),
        ("*a", "missing argument to repetition operator: `*`"),
        ("(a", "missing closing ): `(a`"),
        ("a)", "unexpected ): `a)`"),
        ("[a", "missing closing ]: `[a`"),
    ] {
        assert_eq!(go_match(pattern, ""), Err(format!("error parsing regexp: {why}")), "{pattern}");
    }
}

/// Issue 20: Go takes these, and regex-lite refused them.
#[test]
fn regression_patterns_go_takes_are_taken() {
    for (pattern, text, want) in [
        (r"\Q.\E", ".", true),
        (r"\Q.\E", "a", false),
        (r"^\Q/usr/bin/a+b\E$", "/usr/bin/a+b", true),
        (r"\Qa*", "a*", true),
        (r"\012", "\n", true),
        (r"\0", "\0", true),
        ("a{,2}", "a{,2}", true),
        ("a{01}", "a{01}", true),
        ("{", "{", true),
        (r"\p{Any}", "x", true),
        (r"\P{Any}", "x", false),
        ("a(?i)*", "aaa", true),
        ("(?)a", "a", true),
    ] {
        assert_eq!(go_match(pattern, text), Ok(want), "{pattern} on {text:?}");
    }
    // The one kind Go takes that is refused, saying why.
    let why = go_match(r"\pN", "1").unwrap_err();
    assert!(why.contains("a Unicode class") && why.contains("no Unicode tables"), "{why}");
}

/// Issue 20: `\<` is a literal `<` to Go, a start-of-word boundary to
/// regex-lite, which added a `\<sh` hook to `/bin/sh` where podman did not.
#[test]
fn regression_backslash_angle_matches_a_literal_as_in_go() {
    assert_eq!(go_match(r"\<sh", "/bin/sh"), Ok(false));
    assert_eq!(go_match(r"\<sh", "<sh"), Ok(true));
    assert_eq!(go_match(r"sh\>", "/bin/sh"), Ok(false));
    assert_eq!(go_match(r"\_", "_"), Ok(true));
}

/// Go's meanings where regex-lite's differ: `\s` without `\v`, Unicode
/// simple case folding, flags applied by the rewrite.
#[test]
fn go_meanings_where_regex_lite_differs() {
    for (pattern, text, want) in [
        (r"\s", "\u{b}", false),
        (r"[[:space:]]", "\u{b}", true),
        ("(?i)k", "\u{212A}", true),
        ("(?i)S", "\u{17F}", true),
        ("(?i)[a-z]", "\u{212A}", true),
        (r"(?i)\W", "\u{212A}", false),
        ("(?i)é", "É", true),
        ("(?i)\u{3C3}", "\u{3C2}", true),
        ("(?i)i", "\u{131}", false),
        ("(?i:a)a", "aA", false),
        ("(a(?i)b)b", "aBb", true),
        ("(a(?i)b)b", "aBB", false),
        ("(?m)^b$", "a\nb\nc", true),
        ("^b$", "a\nb\nc", false),
        ("(?s)a.b", "a\nb", true),
        ("a.b", "a\nb", false),
        ("[^a]", "\n", true),
        (r"\x{D800}|b", "b", true),
    ] {
        assert_eq!(go_match(pattern, text), Ok(want), "{pattern} on {text:?}");
    }
}
