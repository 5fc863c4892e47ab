//! Reporting the shim's failure where the caller looks for the runtime's.
//!
//! Docker and containerd pass the runtime `--log FILE --log-format json`,
//! and when the runtime fails they show the last `"level":"error"` entry of
//! that file, not its stderr. This module owns formatting one error entry
//! as runc (logrus) writes them and appending it to that file. It must never
//! make the shim's failure worse: if the log cannot be written, stderr
//! still carries the message. And it must never write through a symbolic
//! link: the shim runs as root, and the log's path is in the bundle.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{self as rfs, Mode, OFlags, CWD};

use crate::bundle::RuntimeCall;
use crate::runtime_cli as cli;

/// The file a `--log` value names, if it names one: runc takes a path;
/// crun also takes `file:PATH` and writes to journald or syslog for
/// `journald:`/`syslog:`, which the shim leaves alone.
pub fn log_file(log: &OsStr) -> Option<&Path> {
    let bytes = log.as_bytes();
    if cli::LOG_NON_FILE_BACKENDS.iter().any(|b| bytes.starts_with(b.as_bytes())) {
        return None;
    }
    let path = bytes.strip_prefix(cli::LOG_FILE_BACKEND.as_bytes()).unwrap_or(bytes);
    (!path.is_empty()).then(|| Path::new(OsStr::from_bytes(path)))
}

/// One error entry in the runtime's log format: a logrus JSON object for
/// `json`, logrus text otherwise (runc's default).
pub fn entry(msg: &str, json: bool, unix_seconds: u64) -> String {
    let time = rfc3339(unix_seconds);
    if json {
        let obj = [("level", "error"), ("msg", msg), ("time", &time)];
        let obj = obj.into_iter().map(|(k, v)| (k.to_owned(), v.into())).collect();
        format!("{}\n", crate::json::json_text(&serde_json::Value::Object(obj)))
    } else {
        format!("time=\"{time}\" level=error msg={}\n", quote(msg))
    }
}

/// The runtime log a call names, and its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogTarget {
    pub path: PathBuf,
    pub json: bool,
}

impl LogTarget {
    pub fn of(call: &RuntimeCall<'_>) -> Option<LogTarget> {
        let path = call.log.and_then(log_file)?.to_owned();
        let json = call.log_format.is_some_and(|f| f.as_bytes() == b"json");
        Some(LogTarget { path, json })
    }

    /// Appends one error entry; a log that cannot be written is ignored,
    /// since stderr carries the message too. A missing log is created
    /// (mode 0644), as runc 1.1.5 does (main.go: `os.OpenFile(file,
    /// os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)`), since the
    /// engine reads it whether or not it made it first. Unlike runc, a
    /// symbolic link, dangling or not, is never followed (O_NOFOLLOW), and
    /// a FIFO without a reader fails rather than blocks (O_NONBLOCK).
    pub fn append(&self, msg: &str) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let line = entry(msg, self.json, now);
        let flags = OFlags::WRONLY
            | OFlags::APPEND
            | OFlags::CREATE
            | OFlags::NOFOLLOW
            | OFlags::NONBLOCK
            | OFlags::NOCTTY
            | OFlags::CLOEXEC;
        if let Ok(fd) = rfs::openat(CWD, &self.path, flags, Mode::from_raw_mode(0o644)) {
            let _ = File::from(fd).write_all(line.as_bytes());
        }
    }
}

/// Go's `%q`-style quoting, as logrus uses for text values.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// UTC time as RFC 3339, e.g. `2026-11-29T04:30:06Z`.
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_926_606), "2026-11-29T04:30:06Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn entries_in_both_formats() {
        assert_eq!(
            entry("oci-add-hooks: a \"b\"", true, 0),
            "{\"level\":\"error\",\"msg\":\"oci-add-hooks: a \\\"b\\\"\",\"time\":\"1970-01-01T00:00:00Z\"}\n"
        );
        assert_eq!(
            entry("x: \"y\"\n", false, 0),
            "time=\"1970-01-01T00:00:00Z\" level=error msg=\"x: \\\"y\\\"\\n\"\n"
        );
    }

    #[test]
    fn log_destinations() {
        assert_eq!(log_file(OsStr::new("/b/log.json")), Some(Path::new("/b/log.json")));
        assert_eq!(log_file(OsStr::new("file:/b/log.json")), Some(Path::new("/b/log.json")));
        assert_eq!(log_file(OsStr::new("journald:crun")), None);
        assert_eq!(log_file(OsStr::new("syslog:crun")), None);
        assert_eq!(log_file(OsStr::new("")), None);
    }
}
