//! Recording hook tools for the charm's integration tests: a temp directory of small bash
//! scripts, one per tool name, that append their argv and stdin to a log and print canned
//! output. Tests hand the directory to `HookTools::new` (never by changing this process's
//! `PATH`) or put it on the `PATH` of a child process. The simulator replaces these later.

#![allow(dead_code)] // each test binary uses a different part

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Every tool the charm may call.
pub const TOOLS: [&str; 18] = [
    "relation-ids",
    "relation-list",
    "relation-get",
    "relation-set",
    "config-get",
    "is-leader",
    "status-set",
    "application-version-set",
    "open-port",
    "close-port",
    "opened-ports",
    "network-get",
    "unit-get",
    "juju-log",
    "action-get",
    "action-set",
    "action-fail",
    "action-log",
];

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub tool: String,
    pub args: Vec<String>,
    pub stdin: String,
}

impl Recorded {
    /// `tool arg arg ...`, for readable assertions.
    pub fn line(&self) -> String {
        std::iter::once(self.tool.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A directory of recording tools.
pub struct Recorder {
    dir: tempfile::TempDir,
}

impl Recorder {
    /// Every tool in [`TOOLS`] present, printing nothing and exiting 0.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir(dir.path().join("bin")).unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        let recorder = Self { dir };
        for tool in TOOLS {
            recorder.install(tool);
        }
        recorder
    }

    /// The directory holding the tool scripts, for `HookTools::new` or a child's PATH.
    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    pub fn bin_str(&self) -> String {
        self.bin().to_str().unwrap().to_owned()
    }

    /// A scratch directory that lives as long as the recorder.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    /// (Re)writes the script for `tool`. Records are `tool\0arg\0...\x1fstdin\x1e`.
    pub fn install(&self, tool: &str) {
        let out = self.dir.path().join("out").join(tool);
        let script = format!(
            r#"#!/bin/bash
{{
  printf '%s\0' "$(basename "$0")" "$@"
  printf '\037'
  cat
  printf '\036'
}} >> '{log}'
[ -f '{out}.stdout' ] && cat '{out}.stdout'
[ -f '{out}.stderr' ] && cat '{out}.stderr' >&2
if [ -f '{out}.code' ]; then exit "$(cat '{out}.code')"; fi
exit 0
"#,
            log = self.log().display(),
            out = out.display(),
        );
        let path = self.bin().join(tool);
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Makes `tool` print `stdout` and exit 0.
    pub fn respond(&self, tool: &str, stdout: &str) {
        self.respond_full(tool, stdout, "", 0);
    }

    /// Makes `tool` print `stdout` and `stderr` and exit with `code`.
    pub fn respond_full(&self, tool: &str, stdout: &str, stderr: &str, code: i32) {
        let out = self.dir.path().join("out").join(tool);
        fs::write(out.with_extension("stdout"), stdout).unwrap();
        fs::write(out.with_extension("stderr"), stderr).unwrap();
        fs::write(out.with_extension("code"), code.to_string()).unwrap();
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Recorded> {
        let data = fs::read(self.log()).unwrap_or_default();
        data.split(|b| *b == 0x1e)
            .filter(|record| !record.is_empty())
            .map(|record| {
                let sep = record
                    .iter()
                    .position(|b| *b == 0x1f)
                    .expect("record separator");
                let (argv, stdin) = (&record[..sep], &record[sep + 1..]);
                let mut fields: Vec<String> = argv
                    .split(|b| *b == 0)
                    .map(|f| String::from_utf8(f.to_vec()).unwrap())
                    .collect();
                fields.pop(); // the empty piece after the last NUL
                let tool = fields.remove(0);
                Recorded {
                    tool,
                    args: fields,
                    stdin: String::from_utf8(stdin.to_vec()).unwrap(),
                }
            })
            .collect()
    }

    /// The calls as `tool arg ...` lines.
    pub fn lines(&self) -> Vec<String> {
        self.calls().iter().map(Recorded::line).collect()
    }

    /// Forgets the calls so far.
    pub fn clear(&self) {
        let _ = fs::remove_file(self.log());
    }
}

/// Writes an executable script.
pub fn write_script(path: &Path, body: &str) {
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}
