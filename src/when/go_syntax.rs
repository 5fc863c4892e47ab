//! A `when` pattern as Go's `regexp` reads it (RE2 syntax, as podman and
//! CRI-O compile hooks.d patterns), rewritten into a pattern regex-lite
//! matches the same way.
//!
//! Owns Go's syntax: every pattern Go refuses is refused here with Go's
//! reason, and every pattern Go takes is rewritten into one with no
//! construct whose meaning differs between the two. Pure. It never matches
//! anything itself; regex-lite does.
//!
//! The parse follows Go 1.19's `regexp/syntax` (`parse.go`, with the
//! `Perl` flags `regexp.Compile` uses). Where regex-lite and Go differ, the
//! rewrite spells out Go's meaning:
//! - flags (`i`, `m`, `s`, `U`; Go has no `x`, `R` or `u`) are applied
//!   here, so the output has none: `^`, `$` and `.` become `\A`/`(?m:^)`,
//!   `\z`/`(?m:$)` and `[^\n]`/`(?s:.)`, and case folding becomes classes;
//! - case folding is Go's Unicode simple folding (`k` is also U+212A KELVIN
//!   SIGN, `s` also U+017F LONG S), not regex-lite's ASCII-only one;
//! - `\s` is `[\t\n\f\r ]` (regex-lite's has `\v`), and every class is
//!   written out as ranges;
//! - `\<`, `\>` and any other escaped ASCII punctuation are literals (in
//!   regex-lite `\<` and `\>` are word boundaries); `\Q...\E` is literal
//!   text; `\0`, `\012` are octal; `{` that does not start a repetition
//!   is a literal;
//! - refused as Go refuses them: `(?x)`, `(?R)`, `(?<name>` (Go 1.22 and
//!   later take it; podman and CRI-O built with older Go do not), `\C`,
//!   `\Z`, a repetition of a repetition (`a**`) and counts over 1000.
//!
//! One thing Go takes is refused: the Unicode classes `\pN`, `\p{Greek}`
//! (but for `\p{Any}`), since the binary carries no Unicode tables (its
//! size budget); the message says so. Case folding is Go 1.19's, from
//! `case_fold`. One more difference, listed for that: a pattern nesting
//! deeper than regex-lite allows (Go allows 1000 levels) is refused with
//! regex-lite's reason.

use super::case_fold::add_folded;

/// Go's `regexp.Compile(pattern)`, as a regex-lite pattern that matches
/// the same texts; or why Go refuses it, in Go's words.
pub(crate) fn translate(pattern: &str) -> Result<String, String> {
    let mut p = Parser {
        whole: pattern,
        rest: pattern,
        flags: Flags::default(),
        stack: Vec::new(),
        seq: Seq::default(),
        last_repeat: None,
    };
    p.parse().map_err(|e| format!("error parsing regexp: {e}"))
}

#[derive(Clone, Copy, Default)]
struct Flags {
    fold: bool,
    multi_line: bool,
    dot_nl: bool,
}

/// One concatenation being parsed: its items so far, each with the
/// repetition product Go's `repeatIsValid` checks.
#[derive(Default)]
struct Seq {
    items: Vec<Item>,
    /// Finished alternatives of the group this sequence is in.
    alternatives: Vec<String>,
    /// The largest need of any item in the alternatives so far.
    need: u32,
}

struct Item {
    text: String,
    /// The smallest count limit under which Go's `repeatIsValid` holds.
    need: u32,
}

/// A group being parsed: the sequence outside it and the flags to restore.
struct Open {
    outer: Seq,
    flags: Flags,
    capture: bool,
}

struct Parser<'a> {
    whole: &'a str,
    rest: &'a str,
    flags: Flags,
    stack: Vec<Open>,
    seq: Seq,
    /// The text from the previous token on, when it was a repetition.
    last_repeat: Option<&'a str>,
}

type Ranges = Vec<(u32, u32)>;

const MAX_RUNE: u32 = 0x10FFFF;

impl<'a> Parser<'a> {
    fn parse(&mut self) -> Result<String, String> {
        let whole = self.whole;
        while let Some(c) = self.rest.chars().next() {
            let mut repeat = None;
            match c {
                '(' if self.rest.starts_with("(?") => self.perl_flags()?,
                '(' => {
                    self.rest = &self.rest[1..];
                    self.open(true);
                }
                '|' => {
                    self.rest = &self.rest[1..];
                    self.bar();
                }
                ')' => {
                    self.rest = &self.rest[1..];
                    self.close()?;
                }
                '^' => {
                    self.rest = &self.rest[1..];
                    let text = if self.flags.multi_line { "(?m:^)" } else { r"\A" };
                    self.push(text.to_owned());
                }
                '$' => {
                    self.rest = &self.rest[1..];
                    let text = if self.flags.multi_line { "(?m:$)" } else { r"\z" };
                    self.push(text.to_owned());
                }
                '.' => {
                    self.rest = &self.rest[1..];
                    let text = if self.flags.dot_nl { "(?s:.)" } else { r"[^\n]" };
                    self.push(text.to_owned());
                }
                '[' => {
                    let class = self.class()?;
                    self.push(class);
                }
                '*' | '+' | '?' => {
                    let before = self.rest;
                    self.rest = &self.rest[1..];
                    self.repeat(before, c.to_string(), None)?;
                    repeat = Some(before);
                }
                '{' => {
                    let before = self.rest;
                    match parse_repeat(self.rest) {
                        None => {
                            self.rest = &self.rest[1..];
                            self.literal('{');
                        }
                        Some((min, max, after)) => {
                            let op = &before[..before.len() - after.len()];
                            if !(0..=1000).contains(&min) || max > 1000 || (max >= 0 && min > max) {
                                return Err(format!("invalid repeat size: `{op}`"));
                            }
                            self.rest = after;
                            let text = match max {
                                -1 => format!("{{{min},}}"),
                                m if m == min => format!("{{{min}}}"),
                                m => format!("{{{min},{m}}}"),
                            };
                            let count = if max == 0 {
                                0
                            } else if max < 0 {
                                min as u32
                            } else {
                                max as u32
                            };
                            self.repeat(before, text, Some((count, min >= 2 || max >= 2)))?;
                            repeat = Some(before);
                        }
                    }
                }
                '\\' => self.escape()?,
                c => {
                    self.rest = &self.rest[c.len_utf8()..];
                    self.literal(c);
                }
            }
            self.last_repeat = repeat;
        }
        if !self.stack.is_empty() {
            return Err(format!("missing closing ): `{whole}`"));
        }
        let seq = std::mem::take(&mut self.seq);
        Ok(finish(seq).0)
    }

    fn push(&mut self, text: String) {
        self.seq.items.push(Item { text, need: 0 });
    }

    fn literal(&mut self, c: char) {
        let text = if self.flags.fold {
            let mut r = Ranges::new();
            add_folded(&mut r, c as u32, c as u32);
            class_text(&clean(r))
        } else {
            escape_char(c as u32)
        };
        self.push(text);
    }

    /// A repetition operator `op` (as regex-lite writes it) applied to the
    /// last item; `count` for `{n,m}`: Go's count for `repeatIsValid`, and
    /// whether Go checks it here.
    fn repeat(&mut self, before: &str, op: String, count: Option<(u32, bool)>) -> Result<(), String> {
        // A `?` after the operator makes it non-greedy: the same texts match.
        if self.rest.starts_with('?') {
            self.rest = &self.rest[1..];
        }
        let written = &before[..before.len() - self.rest.len()];
        if let Some(last) = self.last_repeat {
            return Err(format!("invalid nested repetition operator: `{}`", &last[..last.len() - self.rest.len()]));
        }
        let Some(item) = self.seq.items.last_mut() else {
            return Err(format!("missing argument to repetition operator: `{written}`"));
        };
        item.text = format!("(?:{}){op}", item.text);
        if let Some((m, check)) = count {
            if m > 0 {
                item.need = m.max(m.saturating_mul(item.need));
            }
            if check && item.need > 1000 {
                return Err(format!("invalid repeat size: `{written}`"));
            }
        }
        Ok(())
    }

    fn open(&mut self, capture: bool) {
        let outer = std::mem::take(&mut self.seq);
        self.stack.push(Open { outer, flags: self.flags, capture });
    }

    fn bar(&mut self) {
        let seq = std::mem::take(&mut self.seq);
        let (alternatives, need) = (seq.alternatives, seq.need);
        let done = Seq { items: seq.items, alternatives: Vec::new(), need: 0 };
        let (text, n) = finish(done);
        self.seq.alternatives = alternatives;
        self.seq.alternatives.push(text);
        self.seq.need = need.max(n);
    }

    fn close(&mut self) -> Result<(), String> {
        let Some(open) = self.stack.pop() else {
            return Err(format!("unexpected ): `{}`", self.whole));
        };
        let inner = std::mem::replace(&mut self.seq, open.outer);
        self.flags = open.flags;
        let (text, need) = finish(inner);
        let text = if open.capture { format!("({text})") } else { format!("(?:{text})") };
        self.seq.items.push(Item { text, need });
        Ok(())
    }

    /// `(?` at `rest`: flags, a non-capturing group or a named one.
    fn perl_flags(&mut self) -> Result<(), String> {
        let t = self.rest;
        if let Some(after) = t.strip_prefix("(?P<") {
            let Some(end) = after.find('>') else {
                return Err(format!("invalid named capture: `{t}`"));
            };
            let name = &after[..end];
            let capture = &t[..4 + end + 1];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("invalid named capture: `{capture}`"));
            }
            self.rest = &after[end + 1..];
            self.open(true);
            return Ok(());
        }
        // Flags, then `:` (a group) or `)`, as Go's `parsePerlFlags`.
        let mut flags = self.flags;
        let mut negated = false;
        let mut saw_flag = false;
        for (i, c) in t[2..].char_indices() {
            let at = 2 + i + c.len_utf8();
            let bad = || Err(format!("invalid or unsupported Perl syntax: `{}`", &t[..at]));
            match c {
                'i' => flags.fold = !negated,
                'm' => flags.multi_line = !negated,
                's' => flags.dot_nl = !negated,
                'U' => {}
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                    continue;
                }
                ':' | ')' => {
                    if negated && !saw_flag {
                        return bad();
                    }
                    self.rest = &t[at..];
                    if c == ':' {
                        self.open(false);
                    }
                    self.flags = flags;
                    return Ok(());
                }
                _ => return bad(),
            }
            saw_flag = true;
        }
        Err(format!("invalid or unsupported Perl syntax: `{t}`"))
    }

    fn escape(&mut self) -> Result<(), String> {
        let t = self.rest;
        let mut chars = t[1..].chars();
        match chars.next() {
            Some('A') => return self.take(2, r"\A"),
            Some('b') => return self.take(2, r"\b"),
            Some('B') => return self.take(2, r"\B"),
            Some('z') => return self.take(2, r"\z"),
            Some('C') => return Err("invalid escape sequence: `\\C`".to_owned()),
            Some('Q') => {
                let (lit, rest) = match t[2..].find(r"\E") {
                    Some(end) => (&t[2..2 + end], &t[2 + end + 2..]),
                    None => (&t[2..], ""),
                };
                self.rest = rest;
                for c in lit.chars() {
                    self.literal(c);
                }
                return Ok(());
            }
            _ => {}
        }
        let mut r = Ranges::new();
        if let Some(rest) = self.unicode_class(t, &mut r)? {
            self.rest = rest;
            let class = class_text(&clean(r));
            self.push(class);
            return Ok(());
        }
        if let Some(rest) = self.perl_class(t, &mut r) {
            self.rest = rest;
            let class = class_text(&clean(r));
            self.push(class);
            return Ok(());
        }
        let (c, rest) = parse_escape(t)?;
        self.rest = rest;
        match char::from_u32(c) {
            Some(c) => self.literal(c),
            // A surrogate code point (`\x{D800}`): Go takes it, and no text
            // has one.
            None => self.push(r"[^\s\S]".to_owned()),
        }
        Ok(())
    }

    fn take(&mut self, n: usize, text: &str) -> Result<(), String> {
        self.rest = &self.rest[n..];
        self.push(text.to_owned());
        Ok(())
    }

    /// `\pX`, `\p{Name}`, `\PX` at `t`: only `Any` is matched here.
    fn unicode_class<'t>(&self, t: &'t str, r: &mut Ranges) -> Result<Option<&'t str>, String> {
        let negated = match t.as_bytes().get(1) {
            Some(b'p') => false,
            Some(b'P') => true,
            _ => return Ok(None),
        };
        let after = &t[2..];
        let (seq, name, rest) = match after.chars().next() {
            Some('{') => match t.find('}') {
                Some(end) => (&t[..end + 1], &t[3..end], &t[end + 1..]),
                None => return Err(format!("invalid character class range: `{t}`")),
            },
            Some(c) => (&t[..2 + c.len_utf8()], &after[..c.len_utf8()], &after[c.len_utf8()..]),
            None => return Err(format!("invalid character class range: `{t}`")),
        };
        let (name, negated) = match name.strip_prefix('^') {
            Some(n) => (n, !negated),
            None => (name, negated),
        };
        if name != "Any" {
            return Err(format!(
                "invalid character class range: `{seq}` (a Unicode class: Go may take it, but this build has no \
                 Unicode tables; write the characters out, e.g. [0-9] for digits)"
            ));
        }
        if !negated {
            r.push((0, MAX_RUNE));
        }
        Ok(Some(rest))
    }

    /// `\d`, `\s`, `\w` and their negations at `t`.
    fn perl_class<'t>(&self, t: &'t str, r: &mut Ranges) -> Option<&'t str> {
        let (class, negated): (&[(u32, u32)], bool) = match t.as_bytes().get(1)? {
            b'd' => (DIGIT, false),
            b'D' => (DIGIT, true),
            b's' => (PERL_SPACE, false),
            b'S' => (PERL_SPACE, true),
            b'w' => (WORD, false),
            b'W' => (WORD, true),
            _ => return None,
        };
        self.group(r, class, negated);
        Some(&t[2..])
    }

    /// Adds a class (folded first when folding, then negated), as Go's
    /// `appendGroup`.
    fn group(&self, r: &mut Ranges, class: &[(u32, u32)], negated: bool) {
        let mut g: Ranges = Vec::new();
        for &(lo, hi) in class {
            if self.flags.fold {
                add_folded(&mut g, lo, hi);
            } else {
                g.push((lo, hi));
            }
        }
        let g = clean(g);
        r.extend(if negated { negate(&g) } else { g });
    }

    /// `[...]` at `rest`.
    fn class(&mut self) -> Result<String, String> {
        let whole = self.rest;
        let mut t = &self.rest[1..];
        let mut r = Ranges::new();
        let negated = t.starts_with('^');
        if negated {
            t = &t[1..];
        }
        let mut first = true;
        while !t.starts_with(']') || first {
            first = false;
            if t.len() > 2 && t.starts_with("[:") {
                if let Some(end) = t[2..].find(":]") {
                    let name = &t[..end + 4];
                    let (class, neg) = match name.strip_prefix("[:^") {
                        Some(n) => (posix(&format!("[:{n}")), true),
                        None => (posix(name), false),
                    };
                    let Some(class) = class else {
                        return Err(format!("invalid character class range: `{name}`"));
                    };
                    self.group(&mut r, class, neg);
                    t = &t[end + 4..];
                    continue;
                }
            }
            if t.starts_with('\\') {
                if let Some(rest) = self.unicode_class(t, &mut r)? {
                    t = rest;
                    continue;
                }
                if let Some(rest) = self.perl_class(t, &mut r) {
                    t = rest;
                    continue;
                }
            }
            let range_text = t;
            let (lo, rest) = class_char(t, whole)?;
            t = rest;
            let mut hi = lo;
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                let (h, rest) = class_char(&t[1..], whole)?;
                t = rest;
                hi = h;
                if hi < lo {
                    return Err(format!(
                        "invalid character class range: `{}`",
                        &range_text[..range_text.len() - t.len()]
                    ));
                }
            }
            if self.flags.fold {
                add_folded(&mut r, lo, hi);
            } else {
                r.push((lo, hi));
            }
        }
        self.rest = &t[1..];
        let r = clean(r);
        Ok(class_text(&if negated { negate(&r) } else { r }))
    }
}

/// The pattern of a finished sequence (its alternatives joined), and the
/// largest need of its items.
fn finish(seq: Seq) -> (String, u32) {
    let need = seq.items.iter().map(|i| i.need).fold(seq.need, u32::max);
    let last: String = seq.items.into_iter().map(|i| i.text).collect();
    if seq.alternatives.is_empty() {
        return (last, need);
    }
    let mut all = seq.alternatives;
    all.push(last);
    (all.join("|"), need)
}

/// Go's `parseRepeat`: `{n}`, `{n,}` or `{n,m}` at `s`, with -1 for a
/// number over 10^8 (min) or no maximum; None if it is not a repetition.
fn parse_repeat(s: &str) -> Option<(i64, i64, &str)> {
    let s = s.strip_prefix('{')?;
    let (min, mut s) = parse_int(s)?;
    let max;
    if let Some(rest) = s.strip_prefix(',') {
        if let Some(rest) = rest.strip_prefix('}') {
            return Some((min, -1, rest));
        }
        let (m, rest) = parse_int(rest)?;
        s = rest;
        max = m;
        let min = if m < 0 { -1 } else { min };
        return s.strip_prefix('}').map(|rest| (min, max, rest));
    }
    max = min;
    s.strip_prefix('}').map(|rest| (min, max, rest))
}

/// Go's `parseInt`: digits without a leading zero; -1 past 10^8.
fn parse_int(s: &str) -> Option<(i64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits >= 2 && s.starts_with('0')) {
        return None;
    }
    let mut n: i64 = 0;
    for b in s[..digits].bytes() {
        if n >= 100_000_000 {
            n = -1;
            break;
        }
        n = n * 10 + i64::from(b - b'0');
    }
    Some((n, &s[digits..]))
}

/// One character of a class at `t` (escaped or not).
fn class_char<'t>(t: &'t str, whole: &str) -> Result<(u32, &'t str), String> {
    match t.chars().next() {
        None => Err(format!("missing closing ]: `{whole}`")),
        Some('\\') => parse_escape(t),
        Some(c) => Ok((c as u32, &t[c.len_utf8()..])),
    }
}

/// Go's `parseEscape`: a single-character escape at `t` (which starts
/// with `\`).
fn parse_escape(t: &str) -> Result<(u32, &str), String> {
    let rest = &t[1..];
    let Some(c) = rest.chars().next() else {
        return Err("trailing backslash at end of expression: ``".to_owned());
    };
    let after = &rest[c.len_utf8()..];
    let invalid = |end: &str| Err(format!("invalid escape sequence: `{}`", &t[..t.len() - end.len()]));
    if c.is_ascii() && !c.is_ascii_alphanumeric() {
        return Ok((c as u32, after));
    }
    let octal = |s: &str| s.as_bytes().first().is_some_and(|b| (b'0'..=b'7').contains(b));
    match c {
        '1'..='7' if !octal(after) => invalid(after),
        '0'..='7' => {
            let mut r = c as u32 - '0' as u32;
            let mut s = after;
            for _ in 1..3 {
                if !octal(s) {
                    break;
                }
                r = r * 8 + u32::from(s.as_bytes()[0] - b'0');
                s = &s[1..];
            }
            Ok((r, s))
        }
        'x' => {
            let Some(c) = after.chars().next() else { return invalid(after) };
            let s = &after[c.len_utf8()..];
            if c == '{' {
                let mut r: u32 = 0;
                for (n, (i, d)) in s.char_indices().enumerate() {
                    if d == '}' {
                        if n == 0 {
                            return invalid(&s[i + 1..]);
                        }
                        return Ok((r, &s[i + 1..]));
                    }
                    let Some(v) = d.to_digit(16) else { return invalid(&s[i + d.len_utf8()..]) };
                    r = r * 16 + v;
                    if r > MAX_RUNE {
                        return invalid(&s[i + d.len_utf8()..]);
                    }
                }
                return invalid("");
            }
            let Some(d) = s.chars().next() else { return invalid(s) };
            let s2 = &s[d.len_utf8()..];
            match (c.to_digit(16), d.to_digit(16)) {
                (Some(x), Some(y)) => Ok((x * 16 + y, s2)),
                _ => invalid(s2),
            }
        }
        'a' => Ok((7, after)),
        'f' => Ok((12, after)),
        'n' => Ok((10, after)),
        'r' => Ok((13, after)),
        't' => Ok((9, after)),
        'v' => Ok((11, after)),
        _ => invalid(after),
    }
}

const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
/// Go's `\s` (not regex-lite's, which has `\v` too).
const PERL_SPACE: &[(u32, u32)] = &[(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)];
const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];

/// Go's POSIX classes (`perl_groups.go`, `posixGroup`).
fn posix(name: &str) -> Option<&'static [(u32, u32)]> {
    Some(match name {
        "[:alnum:]" => &[(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
        "[:alpha:]" => &[(0x41, 0x5A), (0x61, 0x7A)],
        "[:ascii:]" => &[(0x00, 0x7F)],
        "[:blank:]" => &[(0x09, 0x09), (0x20, 0x20)],
        "[:cntrl:]" => &[(0x00, 0x1F), (0x7F, 0x7F)],
        "[:digit:]" => DIGIT,
        "[:graph:]" => &[(0x21, 0x7E)],
        "[:lower:]" => &[(0x61, 0x7A)],
        "[:print:]" => &[(0x20, 0x7E)],
        "[:punct:]" => &[(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
        "[:space:]" => &[(0x09, 0x0D), (0x20, 0x20)],
        "[:upper:]" => &[(0x41, 0x5A)],
        "[:word:]" => WORD,
        "[:xdigit:]" => &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
        _ => return None,
    })
}

/// Sorted, merged ranges.
fn clean(mut r: Ranges) -> Ranges {
    r.sort_unstable();
    let mut out: Ranges = Vec::with_capacity(r.len());
    for (lo, hi) in r {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// The complement of clean ranges, over every code point.
fn negate(r: &[(u32, u32)]) -> Ranges {
    let mut out = Ranges::new();
    let mut next = 0;
    for &(lo, hi) in r {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = hi + 1;
    }
    if next <= MAX_RUNE {
        out.push((next, MAX_RUNE));
    }
    out
}

/// A class as regex-lite writes it: each range escaped, surrogates left
/// out (no text has them); an empty class matches nothing.
fn class_text(r: &[(u32, u32)]) -> String {
    let mut out = String::from("[");
    for &(lo, hi) in r {
        for (lo, hi) in [(lo, hi.min(0xD7FF)), (lo.max(0xE000), hi)] {
            if lo > hi {
                continue;
            }
            out.push_str(&escape_char(lo));
            if hi > lo {
                out.push('-');
                out.push_str(&escape_char(hi));
            }
        }
    }
    if out.len() == 1 {
        return r"[^\s\S]".to_owned();
    }
    out.push(']');
    out
}

/// A code point as regex-lite reads it literally, anywhere.
fn escape_char(c: u32) -> String {
    match char::from_u32(c) {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() => c.to_string(),
        _ => format!("\\x{{{c:X}}}"),
    }
}
