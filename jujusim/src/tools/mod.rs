//! Every hook tool, as a pure library over `HookContext` (spec `juju-hook-tools.md` §3–§4).
//!
//! The runner calls [`run`] once per tool invocation with the tool's name (the basename of
//! argv[0]), its arguments, the caller's cwd and, only when [`needs_stdin`] says so, its stdin.
//! Each tool parses its flags like juju/gnuflag (`flags`), validates like the Go command's
//! `Init` (exit 2), runs against the context (exit 1 on failure) and formats like juju/cmd
//! (`output`). Buffered effects stay in the context for the runner to commit on exit 0;
//! immediate ones are pushed to `ctx.immediate` (§1.5). Nothing here touches the model
//! directory, the network or another hook's state; the only I/O is the `-o` and `--file` paths.
//!
//! The parser, the yaml/json writers, the `--file` decoder and Go's `%q` were checked by
//! differential runs against the Go code Juju links (juju/gnuflag, juju/cmd v3, gopkg.in/yaml.v2
//! 2.4.0, encoding/json, strconv); the recorded outputs are the table tests beside each module.

mod action;
mod config;
pub mod flags;
mod keyvalue;
mod leader;
mod misc;
pub mod output;
mod ports;
mod relation;
mod state;
mod status;
pub mod text;

use crate::context::HookContext;
use flags::{Flag, FlagValue, Key, ParseStop};
use output::{Format, OutputOpts};
use std::path::Path;

/// What one tool call printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: i32,
}

/// Every tool name this module answers to (the runner makes one symlink per name).
pub const TOOL_NAMES: &[&str] = &[
    "action-fail",
    "action-get",
    "action-log",
    "action-set",
    "add-metric",
    "application-version-set",
    "close-port",
    "config-get",
    "credential-get",
    "goal-state",
    "is-leader",
    "juju-log",
    "juju-reboot",
    "leader-get",
    "leader-set",
    "network-get",
    "open-port",
    "opened-ports",
    "relation-get",
    "relation-ids",
    "relation-list",
    "relation-model-get",
    "relation-set",
    "resource-get",
    "secret-add",
    "secret-get",
    "secret-grant",
    "secret-ids",
    "secret-info-get",
    "secret-remove",
    "secret-revoke",
    "secret-set",
    "state-delete",
    "state-get",
    "state-set",
    "status-get",
    "status-set",
    "storage-add",
    "storage-get",
    "storage-list",
    "unit-get",
];

pub use ports::{opened_after_changes, show as format_port_range};

/// Knobs of the simulation that real Juju does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Reject `-r <endpoint>:<id>` when the endpoint is not that relation's (§3 "Relation id
    /// flag": Juju ignores the prefix; ops ≥ 3.8 expects the check; strict by default).
    pub strict_relation_prefix: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            strict_relation_prefix: true,
        }
    }
}

/// How a tool call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// Flag parsing or `Init` failed: `ERROR <msg>`, exit 2.
    #[error("{0}")]
    Usage(String),
    /// `Run` failed: `ERROR <msg>`, exit 1.
    #[error("{0}")]
    Run(String),
    /// `-h`/`--help`: the help text on stdout, exit 0.
    #[error("help requested")]
    Help,
}

impl From<ParseStop> for ToolError {
    fn from(stop: ParseStop) -> Self {
        match stop {
            ParseStop::Help => ToolError::Help,
            ParseStop::Usage(msg) => ToolError::Usage(msg),
        }
    }
}

/// One tool: its Go `Info` (for `--help`), its flags and its body.
pub(crate) struct Tool {
    pub name: &'static str,
    pub args: &'static str,
    pub purpose: &'static str,
    pub flags: &'static [Flag],
    pub run: fn(&mut Call) -> Result<Vec<u8>, ToolError>,
}

/// Everything one invocation sees.
pub(crate) struct Call<'a> {
    pub tool: &'static Tool,
    pub args: &'a [String],
    pub cwd: &'a Path,
    pub stdin: Option<&'a [u8]>,
    pub ctx: &'a mut HookContext,
    pub opts: RunOptions,
    /// Warnings a tool prints before succeeding (deprecated `--format`).
    pub stderr: Vec<u8>,
}

impl Call<'_> {
    /// Parses argv against this tool's flags.
    pub fn parse<F>(&self, set: F) -> Result<Vec<String>, ToolError>
    where
        F: FnMut(Key, FlagValue) -> Result<(), String>,
    {
        Ok(flags::parse(self.args, self.tool.flags, set)?)
    }

    /// Writes `value` as `out` says (stdout bytes, or the `-o` file).
    pub fn emit(&self, out: &OutputOpts, value: &output::Val) -> Result<Vec<u8>, ToolError> {
        out.write(value, self.cwd).map_err(ToolError::Run)
    }

    /// The `-r` value: the text after the last `:` as a decimal id of a relation in this
    /// context (§3 "Relation id flag"); in strict mode a mismatched `endpoint:` also fails.
    pub fn relation_id(&self, v: FlagValue) -> Result<u64, String> {
        relation_id_value(self.ctx, self.opts, v)
    }
}

pub(crate) fn relation_id_value(
    ctx: &HookContext,
    opts: RunOptions,
    v: FlagValue,
) -> Result<u64, String> {
    let FlagValue::Text(text) = v else {
        return Err("invalid relation id".to_string());
    };
    let (prefix, id_text) = match text.rfind(':') {
        Some(i) => (Some(&text[..i]), &text[i + 1..]),
        None => (None, text.as_str()),
    };
    let id = go_atoi(id_text).ok_or_else(|| "invalid relation id".to_string())?;
    let not_found = || "relation not found".to_string();
    let id = u64::try_from(id).map_err(|_| not_found())?;
    let relation = ctx.relations.get(&id).ok_or_else(not_found)?;
    if opts.strict_relation_prefix && prefix.is_some_and(|p| p != relation.endpoint) {
        return Err(not_found());
    }
    Ok(id)
}

/// Go `strconv.Atoi`: optional sign, ASCII decimal digits, fits in 64 bits.
pub(crate) fn go_atoi(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// The leadership check of `is-leader`, `relation-set --app`, `leader-set` and
/// `status-set --application`: once "not leader", always "not leader" in this context (§4.19).
pub(crate) fn check_leadership(ctx: &mut HookContext) -> bool {
    if ctx.leadership_denied {
        return false;
    }
    if !ctx.is_leader {
        ctx.leadership_denied = true;
        return false;
    }
    true
}

/// The shared `--format`/`-o`/`--output` flags of juju/cmd `Output.AddFlags`.
pub(crate) const fn output_flags(default: &'static str) -> [Flag; 3] {
    [
        Flag::value(
            "format",
            Key::Format,
            default,
            "Specify output format (json|smart|yaml)",
        ),
        Flag::value("o", Key::Output, "", "Specify an output file"),
        Flag::value("output", Key::Output, "", ""),
    ]
}

/// The `-r`/`--relation` flags.
pub(crate) const fn relation_flags() -> [Flag; 2] {
    [
        Flag::value("r", Key::Relation, "", "Specify a relation by id"),
        Flag::value("relation", Key::Relation, "", ""),
    ]
}

/// Applies an output flag; `None` when `key` is not one.
pub(crate) fn output_flag(
    out: &mut OutputOpts,
    key: Key,
    v: &FlagValue,
) -> Option<Result<(), String>> {
    match key {
        Key::Format => Some(out.set_format(v.clone())),
        Key::Output => Some(out.set_path(v.clone())),
        _ => None,
    }
}

fn all_tools() -> impl Iterator<Item = &'static Tool> {
    relation::TOOLS
        .iter()
        .chain(config::TOOLS)
        .chain(status::TOOLS)
        .chain(ports::TOOLS)
        .chain(action::TOOLS)
        .chain(leader::TOOLS)
        .chain(state::TOOLS)
        .chain(misc::TOOLS)
}

fn find_tool(name: &str) -> Option<&'static Tool> {
    all_tools().find(|t| t.name == name)
}

fn help_text(tool: &Tool, ctx: &HookContext) -> String {
    let mut s = format!("Usage: {}", tool.name);
    if !tool.flags.is_empty() {
        s.push_str(" [options]");
    }
    if !tool.args.is_empty() {
        s.push(' ');
        s.push_str(tool.args);
    }
    s.push_str(&format!("\n\nSummary:\n{}\n", tool.purpose));
    if !tool.flags.is_empty() {
        s.push_str("\nOptions:\n");
        let relation = ctx
            .relation_id
            .and_then(|id| ctx.relations.get(&id))
            .map(|r| format!("{}:{}", r.endpoint, r.id))
            .unwrap_or_default();
        s.push_str(&flags::print_defaults(tool.flags, &relation));
    }
    s
}

/// Whether this invocation reads stdin: only `--file -` does (§1.4 "stdin is lazy").
pub fn needs_stdin(tool: &str, args: &[String]) -> bool {
    let Some(tool) = find_tool(tool) else {
        return false;
    };
    if !tool.flags.iter().any(|f| f.key == Key::File) {
        return false;
    }
    let mut reads = false;
    let _ = flags::parse(args, tool.flags, |key, v| {
        if key == Key::File {
            reads = v == FlagValue::Text("-".to_string());
        }
        Ok(())
    });
    reads
}

/// Run one tool call against the context. `cwd` resolves relative `-o`/`--file` paths.
pub fn run(
    tool: &str,
    args: &[String],
    cwd: &Path,
    stdin: Option<&[u8]>,
    ctx: &mut HookContext,
) -> ToolOutput {
    run_with(RunOptions::default(), tool, args, cwd, stdin, ctx)
}

/// [`run`] with explicit simulation options.
pub fn run_with(
    opts: RunOptions,
    tool: &str,
    args: &[String],
    cwd: &Path,
    stdin: Option<&[u8]>,
    ctx: &mut HookContext,
) -> ToolOutput {
    let Some(found) = find_tool(tool) else {
        return ToolOutput {
            stdout: Vec::new(),
            stderr: format!("ERROR bad request: unknown command: {tool}\n").into_bytes(),
            code: 1,
        };
    };
    let mut call = Call {
        tool: found,
        args,
        cwd,
        stdin,
        ctx,
        opts,
        stderr: Vec::new(),
    };
    let result = (found.run)(&mut call);
    let mut stderr = std::mem::take(&mut call.stderr);
    let call_ctx: &HookContext = call.ctx;
    match result {
        Ok(stdout) => ToolOutput {
            stdout,
            stderr,
            code: 0,
        },
        Err(ToolError::Help) => ToolOutput {
            stdout: help_text(found, call_ctx).into_bytes(),
            stderr,
            code: 0,
        },
        Err(ToolError::Usage(msg)) => {
            stderr.extend_from_slice(format!("ERROR {msg}\n").as_bytes());
            ToolOutput {
                stdout: Vec::new(),
                stderr,
                code: 2,
            }
        }
        Err(ToolError::Run(msg)) => {
            stderr.extend_from_slice(format!("ERROR {msg}\n").as_bytes());
            ToolOutput {
                stdout: Vec::new(),
                stderr,
                code: 1,
            }
        }
    }
}

/// Output options defaulting to smart, the juju/cmd default of almost every tool.
pub(crate) fn smart_output() -> OutputOpts {
    OutputOpts::new(Format::Smart)
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests;
