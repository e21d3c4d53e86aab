//! How a hook tool fails: the evidence of one failed call ([`ToolFailure`]) and the typed error
//! ([`ToolError`]), with the single function that maps Juju's stderr text to variants (spec §3
//! "Exit codes and error text", §7 "Rust charm side"). Owns no process handling.

use thiserror::Error;

/// Longest stderr kept in an error; Juju's errors are one line (spec §3).
const MAX_STDERR: usize = 2000;

/// One failed tool call, as evidence: the tool, its argv (never a secret: relation data goes
/// on stdin and action-set values are redacted), its exit code and its `ERROR ...` stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolFailure {
    pub tool: &'static str,
    /// The arguments after the tool name, as passed (redacted where marked secret).
    pub argv: Vec<String>,
    /// `None` when the tool was killed by a signal.
    pub exit_code: Option<i32>,
    /// stderr, trimmed, at most 2000 bytes.
    pub stderr: String,
}

impl std::fmt::Display for ToolFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.tool)?;
        for arg in &self.argv {
            write!(f, " {}", shell_word(arg))?;
        }
        match self.exit_code {
            Some(code) => write!(f, " exited {code}")?,
            None => write!(f, " was killed by a signal")?,
        }
        if self.stderr.is_empty() {
            write!(f, " with no error text")
        } else {
            write!(f, ": {}", self.stderr)
        }
    }
}

/// Quotes an argument for display when it holds anything but plain characters.
fn shell_word(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// A hook tool call that did not give what was asked.
#[derive(Debug, Error)]
pub enum ToolError {
    #[error("hook tool {tool} not found in PATH {search_path}")]
    NotFound {
        tool: &'static str,
        search_path: String,
    },
    #[error("cannot run hook tool {tool}: {source}")]
    Spawn {
        tool: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// `relation not found` (exit 2 from `-r` parsing, or 1): the relation is gone.
    #[error("relation not found: {0}")]
    RelationNotFound(ToolFailure),
    /// `permission denied` / `access denied`: e.g. reading our app bag as a non-leader.
    #[error("permission denied: {0}")]
    PermissionDenied(ToolFailure),
    /// `not the leader` / `cannot write relation settings`: leadership was lost.
    #[error("not the leader: {0}")]
    NotLeader(ToolFailure),
    /// Exit 2: Juju rejected the arguments (a bug on our side).
    #[error("invalid arguments: {0}")]
    InvalidArguments(ToolFailure),
    /// Any other failure.
    #[error("{0}")]
    Failed(ToolFailure),
    /// Exit 0, but stdout was not what the tool promises (`--format=json`).
    #[error("{tool} {}: unexpected output: {detail}", .argv.join(" "))]
    BadOutput {
        tool: &'static str,
        argv: Vec<String>,
        /// What did not fit; never the output itself, which may hold secrets (config-get).
        detail: String,
    },
    /// We refused to make the call: the arguments break a rule Juju would enforce.
    #[error("{tool}: refusing invalid argument: {reason}")]
    InvalidInput { tool: &'static str, reason: String },
}

impl ToolError {
    /// The failed call, when the tool ran and failed.
    pub fn failure(&self) -> Option<&ToolFailure> {
        match self {
            ToolError::RelationNotFound(f)
            | ToolError::PermissionDenied(f)
            | ToolError::NotLeader(f)
            | ToolError::InvalidArguments(f)
            | ToolError::Failed(f) => Some(f),
            _ => None,
        }
    }
}

/// Maps a failed call to its variant by the stderr text Juju prints, the way ops does
/// (spec §3 "Relation id flag", §7): the single place that knows Juju's error strings.
pub fn classify(
    tool: &'static str,
    argv: Vec<String>,
    exit_code: Option<i32>,
    stderr: &[u8],
) -> ToolError {
    let text = String::from_utf8_lossy(stderr);
    let mut text = text.trim().to_owned();
    if text.len() > MAX_STDERR {
        let mut cut = MAX_STDERR;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    let lower = text.to_ascii_lowercase();
    let failure = ToolFailure {
        tool,
        argv,
        exit_code,
        stderr: text,
    };
    if lower.contains("relation not found") || lower.contains("unknown relation id") {
        ToolError::RelationNotFound(failure)
    } else if lower.contains("not the leader") || lower.contains("cannot write relation settings") {
        ToolError::NotLeader(failure)
    } else if lower.contains("permission denied") || lower.contains("access denied") {
        ToolError::PermissionDenied(failure)
    } else if exit_code == Some(2) {
        ToolError::InvalidArguments(failure)
    } else {
        ToolError::Failed(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(code: i32, stderr: &str) -> &'static str {
        match classify(
            "relation-get",
            vec!["-r".into(), "db:9".into()],
            Some(code),
            stderr.as_bytes(),
        ) {
            ToolError::RelationNotFound(_) => "relation-not-found",
            ToolError::PermissionDenied(_) => "permission-denied",
            ToolError::NotLeader(_) => "not-leader",
            ToolError::InvalidArguments(_) => "invalid-arguments",
            ToolError::Failed(_) => "failed",
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn juju_error_texts_map_to_variants() {
        let cases = [
            (2, "ERROR invalid value \"9\" for option -r: relation not found\n", "relation-not-found"),
            (2, "ERROR invalid value \"9\" for option -r: unknown relation id\n", "relation-not-found"),
            (1, "ERROR permission denied\n", "permission-denied"),
            (1, "ERROR cannot write relation settings\n", "not-leader"),
            (1, "ERROR this unit is not the leader\n", "not-leader"),
            (1, "ERROR cannot write leadership settings: cannot write settings: not the leader\n", "not-leader"),
            (2, "ERROR option provided but not defined: --foo\n", "invalid-arguments"),
            (2, "ERROR invalid status \"error\", expected one of [maintenance blocked waiting active]\n", "invalid-arguments"),
            (1, "ERROR no network config found for binding \"foo\"\n", "failed"),
            (1, "", "failed"),
        ];
        for (code, stderr, expected) in cases {
            assert_eq!(kind(code, stderr), expected, "{code} {stderr}");
        }
    }

    #[test]
    fn failure_keeps_tool_argv_code_and_trimmed_stderr() {
        let err = classify(
            "relation-get",
            vec![
                "--format=json".into(),
                "-r".into(),
                "db:9".into(),
                "-".into(),
                "pg/0".into(),
            ],
            Some(2),
            b"ERROR invalid value \"9\" for option -r: relation not found\n",
        );
        let failure = err.failure().unwrap();
        assert_eq!(failure.tool, "relation-get");
        assert_eq!(failure.exit_code, Some(2));
        assert_eq!(
            failure.stderr,
            "ERROR invalid value \"9\" for option -r: relation not found"
        );
        assert_eq!(
            err.to_string(),
            "relation not found: relation-get --format=json -r db:9 - pg/0 exited 2: \
             ERROR invalid value \"9\" for option -r: relation not found"
        );
    }

    #[test]
    fn display_quotes_free_text_and_long_stderr_is_cut() {
        let err = classify(
            "juju-log",
            vec!["--".into(), "it's here".into()],
            None,
            &[b'x'; 5000],
        );
        let text = err.to_string();
        assert!(
            text.starts_with("juju-log -- 'it'\\''s here' was killed by a signal: xxx"),
            "{text}"
        );
        assert!(err.failure().unwrap().stderr.len() <= MAX_STDERR + '…'.len_utf8());
    }
}
