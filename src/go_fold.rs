//! Which JSON object keys Go's `encoding/json` takes for a struct field:
//! the one rule behind the spec's checks (runc decodes `config.json` with
//! it) and `daemon.json`'s (dockerd decodes its configuration with it).
//!
//! Owns that rule and nothing else. Pure, and it must never depend on
//! another module of the crate: both the shim and the installer use it.
//!
//! Go tries the exact name first, then any key equal to the field's name
//! under Unicode simple case folding (src/encoding/json/decode.go,
//! `object`; the comparison is fold.go's `foldFunc` up to Go 1.20 and
//! `foldName` since 1.21, both agreeing with `bytes.EqualFold` for the
//! ASCII names every field here has). Folding maps only two characters
//! outside ASCII onto an ASCII letter: U+212A KELVIN SIGN onto `k`, and
//! U+017F LATIN SMALL LETTER LONG S onto `s`. The differential test
//! (tests/integration/go.rs) checks this against Go's own decoder.

/// Whether Go's `encoding/json` decodes the object key `key` into the
/// struct field whose JSON name is `name` (ASCII, as every field the
/// binary reads or edits is). True for the exact name too.
pub(crate) fn go_reads_as(key: &str, name: &str) -> bool {
    debug_assert!(name.is_ascii(), "{name:?}");
    let mut chars = key.chars();
    let same = |c: char, want: u8| match c {
        '\u{212A}' => want.eq_ignore_ascii_case(&b'k'),
        '\u{017F}' => want.eq_ignore_ascii_case(&b's'),
        c => c.is_ascii() && (c as u8).eq_ignore_ascii_case(&want),
    };
    name.bytes().all(|want| chars.next().is_some_and(|c| same(c, want))) && chars.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ASCII letters in either case, U+212A for `k`, U+017F for `s`.
    /// Nothing else: no other character folds onto an ASCII letter (U+0130
    /// and U+0131, the Turkish dotted and dotless i, have no simple folding
    /// to `i`), non-letters match only themselves, and no Unicode
    /// normalisation happens.
    #[test]
    fn go_folding_rules() {
        for (key, name) in [
            ("hooks", "hooks"),
            ("HOOKS", "hooks"),
            ("hOoKs", "hooks"),
            ("hoo\u{212A}s", "hooks"),
            ("hook\u{017F}", "hooks"),
            ("HOO\u{212A}\u{017F}", "hooks"),
            ("annotation\u{017F}", "annotations"),
            ("proce\u{017F}\u{017F}", "process"),
            ("Prestart", "prestart"),
            ("pre\u{017F}tart", "prestart"),
            ("CREATERUNTIME", "createRuntime"),
            ("createruntime", "createRuntime"),
            ("Args", "args"),
            ("TYPE", "type"),
            ("option\u{017F}", "options"),
            ("RuNtImE\u{17f}", "runtimes"),
            ("DEFAULT-RUNTIME", "default-runtime"),
            ("\u{212A}ey", "key"),
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
            ("r\u{fc}n", "run"),
            ("default_runtime", "default-runtime"),
            ("", "hooks"),
        ] {
            assert!(!go_reads_as(key, name), "{key:?} is not {name} to Go");
        }
    }
}
