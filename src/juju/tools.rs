//! [`HookTools`]: one typed method per Juju hook tool, all over one private runner (spec §4,
//! §7 "Rust charm side", copying what ops ≥ 3.4 sends, §5).
//!
//! Rules every method follows: reads pass `--format=json` first and parse it with serde;
//! relations are named `-r <endpoint>:<id>`; units and apps are always named explicitly;
//! relation data goes through `relation-set --file -` with JSON on stdin (never `key=value`
//! argv: Juju trims it and argv is logged); free text comes after `--`. Writes that only the
//! leader may make take a [`Leader`] token that only [`HookTools::is_leader`] creates. Tools
//! are looked up in the search path handed in (the hook's `PATH`), never in this process's
//! environment, so tests can point it at recording tools. Owns no policy: what to read and
//! write is the hook's business.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::context::Context;
use super::error::{classify, ToolError};
use super::names::{AppName, PortRange, RelationId, UnitName, WorkloadStatus};

/// A relation bag as the tools carry it: string keys to string values (spec §6.1).
pub type Bag = BTreeMap<String, String>;

/// `config-get --all` output: option names to typed JSON values (`null` when unset).
pub type ConfigValues = BTreeMap<String, serde_json::Value>;

/// Proof that `is-leader` answered `true` in this hook (Juju guarantees the lease for ~30 s,
/// spec §4.19). Only [`HookTools::is_leader`] can make one.
#[derive(Debug)]
pub struct Leader {
    _proof: (),
}

/// `juju-log` levels (spec §4.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warning,
    Error,
}

impl LogLevel {
    fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }
}

/// The two settings `unit-get` knows (spec §4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitAddress {
    Private,
    Public,
}

/// `network-get --format=json <binding>` output (spec §4.8).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NetworkInfo {
    #[serde(default)]
    pub bind_addresses: Vec<BindAddress>,
    #[serde(default)]
    pub egress_subnets: Vec<String>,
    #[serde(default)]
    pub ingress_addresses: Vec<String>,
}

/// One interface in [`NetworkInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BindAddress {
    #[serde(default)]
    pub mac_address: String,
    #[serde(default)]
    pub interface_name: String,
    #[serde(default)]
    pub addresses: Vec<InterfaceAddress>,
}

/// One address of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InterfaceAddress {
    #[serde(default)]
    pub hostname: String,
    pub value: String,
    #[serde(default)]
    pub cidr: String,
}

/// The longest `juju-log` message ops sends in one call; longer ones are split (spec §1.6).
const MAX_LOG_MESSAGE: usize = 131_071;

/// The typed hook-tool client. Cloning shares the call counter.
#[derive(Debug, Clone)]
pub struct HookTools {
    search_path: String,
    calls: Arc<AtomicU64>,
}

/// One call for the runner.
struct Call {
    tool: &'static str,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    /// `key=value` arguments whose values must not appear in errors (action results).
    redact_values: bool,
}

impl Call {
    fn new<I, S>(tool: &'static str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            tool,
            args: args.into_iter().map(Into::into).collect(),
            stdin: None,
            redact_values: false,
        }
    }

    /// The argv as it may appear in an error.
    fn shown_args(&self) -> Vec<String> {
        if !self.redact_values {
            return self.args.clone();
        }
        self.args
            .iter()
            .map(|arg| match arg.split_once('=') {
                Some((key, _)) => format!("{key}=<redacted>"),
                None => arg.clone(),
            })
            .collect()
    }
}

impl HookTools {
    /// A client finding its tools in `search_path` (a `PATH`-style list of directories).
    pub fn new(search_path: impl Into<String>) -> Self {
        Self {
            search_path: search_path.into(),
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A client for the running hook: its tools are on the hook's `PATH`.
    pub fn for_context(ctx: &Context) -> Self {
        Self::new(ctx.tool_search_path.clone())
    }

    /// How many tool processes this client (and its clones) has started; for benchmarks.
    pub fn call_count(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    // ----- relations (spec §4.1-§4.4) -----

    /// `relation-ids --format=json <endpoint>`: the live relations of an endpoint.
    pub fn relation_ids(&self, endpoint: &str) -> Result<Vec<RelationId>, ToolError> {
        let call = Call::new("relation-ids", ["--format=json", endpoint]);
        let ids: Vec<String> = self.run_json(call)?;
        parse_all(&ids, "relation-ids", endpoint)
    }

    /// `relation-list --format=json -r <rel>`: the remote member units, sorted by Juju.
    pub fn relation_list(&self, relation: &RelationId) -> Result<Vec<UnitName>, ToolError> {
        let call = Call::new(
            "relation-list",
            ["--format=json", "-r", &relation.to_string()],
        );
        let units: Vec<String> = self.run_json(call)?;
        parse_all(&units, "relation-list", &relation.to_string())
    }

    /// `relation-list --format=json --app -r <rel>`: the remote application's name.
    pub fn relation_remote_app(&self, relation: &RelationId) -> Result<AppName, ToolError> {
        let args = ["--format=json", "--app", "-r", &relation.to_string()];
        let app: String = self.run_json(Call::new("relation-list", args))?;
        app.parse().map_err(|e| ToolError::BadOutput {
            tool: "relation-list",
            argv: args.iter().map(|a| a.to_string()).collect(),
            detail: format!("{e}"),
        })
    }

    /// `relation-get --format=json -r <rel> - <unit>`: a unit's whole bag.
    pub fn relation_get_unit(
        &self,
        relation: &RelationId,
        unit: &UnitName,
    ) -> Result<Bag, ToolError> {
        let args = [
            "--format=json",
            "-r",
            &relation.to_string(),
            "-",
            &unit.to_string(),
        ];
        self.run_json(Call::new("relation-get", args))
    }

    /// `relation-get --format=json -r <rel> --app - <app>`: an application's whole bag.
    /// Our own app's bag is readable only by the leader, or by anyone in a peer relation
    /// (spec §6.3); otherwise this fails with [`ToolError::PermissionDenied`].
    pub fn relation_get_app(&self, relation: &RelationId, app: &AppName) -> Result<Bag, ToolError> {
        let args = [
            "--format=json",
            "-r",
            &relation.to_string(),
            "--app",
            "-",
            app.as_str(),
        ];
        self.run_json(Call::new("relation-get", args))
    }

    /// `relation-set -r <rel> --file -` with `changes` as JSON on stdin: writes our unit bag.
    /// An empty value deletes its key. No call is made when there are no changes.
    pub fn relation_set_unit(&self, relation: &RelationId, changes: &Bag) -> Result<(), ToolError> {
        self.relation_set(relation, false, changes)
    }

    /// `relation-set -r <rel> --app --file -`: writes our application bag (leader only).
    pub fn relation_set_app(
        &self,
        _leader: &Leader,
        relation: &RelationId,
        changes: &Bag,
    ) -> Result<(), ToolError> {
        self.relation_set(relation, true, changes)
    }

    fn relation_set(
        &self,
        relation: &RelationId,
        app: bool,
        changes: &Bag,
    ) -> Result<(), ToolError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut args = vec!["-r".to_owned(), relation.to_string()];
        if app {
            args.push("--app".to_owned());
        }
        args.extend(["--file".to_owned(), "-".to_owned()]);
        let mut call = Call::new("relation-set", args);
        // A map of strings always serialises.
        call.stdin = Some(serde_json::to_vec(changes).unwrap_or_default());
        self.run(call).map(drop)
    }

    // ----- config, leadership, status (spec §4.6, §4.9, §4.11, §4.19) -----

    /// `config-get --format=json --all`: every option, `null` for unset ones.
    pub fn config_get_all<T: DeserializeOwned>(&self) -> Result<T, ToolError> {
        self.run_json(Call::new("config-get", ["--format=json", "--all"]))
    }

    /// `is-leader --format=json`: a [`Leader`] token when this unit leads.
    pub fn is_leader(&self) -> Result<Option<Leader>, ToolError> {
        let leader: bool = self.run_json(Call::new("is-leader", ["--format=json"]))?;
        Ok(leader.then_some(Leader { _proof: () }))
    }

    /// `status-set --application=false <status> -- <message>`: this unit's workload status.
    pub fn status_set(&self, status: WorkloadStatus, message: &str) -> Result<(), ToolError> {
        let args = ["--application=false", status.as_str(), "--", message];
        self.run(Call::new("status-set", args)).map(drop)
    }

    /// `status-set --application=true <status> -- <message>`: the application's status.
    pub fn application_status_set(
        &self,
        _leader: &Leader,
        status: WorkloadStatus,
        message: &str,
    ) -> Result<(), ToolError> {
        let args = ["--application=true", status.as_str(), "--", message];
        self.run(Call::new("status-set", args)).map(drop)
    }

    /// `application-version-set -- <version>`: the version `juju status` shows.
    pub fn application_version_set(&self, version: &str) -> Result<(), ToolError> {
        self.run(Call::new("application-version-set", ["--", version]))
            .map(drop)
    }

    // ----- ports and network (spec §4.7, §4.8, §4.12, §4.13) -----

    /// `open-port <range>`, e.g. `open-port 80/tcp`.
    pub fn open_port(&self, range: PortRange) -> Result<(), ToolError> {
        self.run(Call::new("open-port", [range.to_string()]))
            .map(drop)
    }

    /// `close-port <range>`.
    pub fn close_port(&self, range: PortRange) -> Result<(), ToolError> {
        self.run(Call::new("close-port", [range.to_string()]))
            .map(drop)
    }

    /// `opened-ports --format=json`: this unit's ranges, including this hook's changes.
    pub fn opened_ports(&self) -> Result<Vec<PortRange>, ToolError> {
        let ports: Vec<String> = self.run_json(Call::new("opened-ports", ["--format=json"]))?;
        parse_all(&ports, "opened-ports", "")
    }

    /// `network-get --format=json [-r <rel>] <binding>`: the whole network info.
    pub fn network_get(
        &self,
        binding: &str,
        relation: Option<&RelationId>,
    ) -> Result<NetworkInfo, ToolError> {
        self.run_json(Call::new(
            "network-get",
            network_args(binding, relation, None),
        ))
    }

    /// `network-get --format=json [-r <rel>] <binding> --ingress-address`: the address remote
    /// units should use to reach us on that relation.
    pub fn network_get_ingress_address(
        &self,
        binding: &str,
        relation: Option<&RelationId>,
    ) -> Result<String, ToolError> {
        let args = network_args(binding, relation, Some("--ingress-address"));
        self.run_json(Call::new("network-get", args))
    }

    /// `unit-get --format=json private-address|public-address`.
    pub fn unit_get(&self, address: UnitAddress) -> Result<String, ToolError> {
        let setting = match address {
            UnitAddress::Private => "private-address",
            UnitAddress::Public => "public-address",
        };
        self.run_json(Call::new("unit-get", ["--format=json", setting]))
    }

    // ----- logging (spec §4.14) -----

    /// `juju-log --log-level <LEVEL> -- <message>`; a message longer than 131071 bytes is sent
    /// in several calls, as ops does.
    pub fn juju_log(&self, level: LogLevel, message: &str) -> Result<(), ToolError> {
        for chunk in split_at_char_boundaries(message, MAX_LOG_MESSAGE) {
            let args = ["--log-level", level.as_str(), "--", chunk];
            self.run(Call::new("juju-log", args))?;
        }
        Ok(())
    }

    // ----- actions (spec §4.15-§4.18) -----

    /// `action-get --format=json`: the action's parameters, defaults filled in by Juju.
    pub fn action_get<T: DeserializeOwned>(&self) -> Result<T, ToolError> {
        self.run_json(Call::new("action-get", ["--format=json"]))
    }

    /// `action-set <key>=<value> ...`: results, dotted keys nesting (spec §4.16). Keys are
    /// checked against Juju's rule first; values never appear in errors. No call when empty.
    pub fn action_set(&self, results: &BTreeMap<String, String>) -> Result<(), ToolError> {
        if results.is_empty() {
            return Ok(());
        }
        for key in results.keys() {
            check_action_key(key)?;
        }
        let args = results.iter().map(|(k, v)| format!("{k}={v}"));
        let mut call = Call::new("action-set", args);
        call.redact_values = true;
        self.run(call).map(drop)
    }

    /// `action-fail -- <message>`: marks the action failed; the action keeps running.
    pub fn action_fail(&self, message: &str) -> Result<(), ToolError> {
        self.run(Call::new("action-fail", ["--", message]))
            .map(drop)
    }

    /// `action-log -- <message>`: a progress message on the running action.
    pub fn action_log(&self, message: &str) -> Result<(), ToolError> {
        self.run(Call::new("action-log", ["--", message])).map(drop)
    }

    // ----- the runner -----

    fn run_json<T: DeserializeOwned>(&self, call: Call) -> Result<T, ToolError> {
        let tool = call.tool;
        let argv = call.shown_args();
        let stdout = self.run(call)?;
        serde_json::from_slice(&stdout).map_err(|e| ToolError::BadOutput {
            tool,
            argv,
            // serde_json's message names the position and the expectation, not the content.
            detail: e.to_string(),
        })
    }

    /// Runs one tool to completion: stdin from `call.stdin` (else `/dev/null`, spec §1.2),
    /// stdout returned on exit 0, otherwise the classified error.
    fn run(&self, call: Call) -> Result<Vec<u8>, ToolError> {
        let path = self.resolve(call.tool)?;
        let mut child = Command::new(&path)
            .args(&call.args)
            .stdin(if call.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ToolError::Spawn {
                tool: call.tool,
                source,
            })?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        // Write stdin from a thread so a tool that prints before reading cannot deadlock us.
        let writer = match (call.stdin.as_ref(), child.stdin.take()) {
            (Some(data), Some(mut pipe)) => {
                let data = data.clone();
                Some(std::thread::spawn(move || {
                    // A tool that exits without reading gives EPIPE; its exit status tells.
                    let _ = pipe.write_all(&data);
                }))
            }
            _ => None,
        };
        let output = child
            .wait_with_output()
            .map_err(|source| ToolError::Spawn {
                tool: call.tool,
                source,
            })?;
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(classify(
                call.tool,
                call.shown_args(),
                output.status.code(),
                &output.stderr,
            ))
        }
    }

    /// The first executable file named `tool` in the search path.
    fn resolve(&self, tool: &'static str) -> Result<PathBuf, ToolError> {
        self.search_path
            .split(':')
            .filter(|dir| !dir.is_empty())
            .map(|dir| Path::new(dir).join(tool))
            .find(|path| is_executable(path))
            .ok_or_else(|| ToolError::NotFound {
                tool,
                search_path: self.search_path.clone(),
            })
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn network_args(binding: &str, relation: Option<&RelationId>, flag: Option<&str>) -> Vec<String> {
    let mut args = vec!["--format=json".to_owned()];
    if let Some(relation) = relation {
        args.extend(["-r".to_owned(), relation.to_string()]);
    }
    args.push(binding.to_owned());
    args.extend(flag.map(str::to_owned));
    args
}

/// Parses every string a tool printed, naming the first that does not fit.
fn parse_all<T>(items: &[String], tool: &'static str, arg: &str) -> Result<Vec<T>, ToolError>
where
    T: std::str::FromStr<Err = super::names::InvalidName>,
{
    items
        .iter()
        .map(|item| {
            item.parse().map_err(|e| ToolError::BadOutput {
                tool,
                argv: vec![arg.to_owned()],
                detail: format!("{e}"),
            })
        })
        .collect()
}

/// Juju's action key rule (spec §4.16): dotted segments of `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`,
/// none of them reserved.
fn check_action_key(key: &str) -> Result<(), ToolError> {
    const RESERVED: [&str; 4] = ["stdout", "stdout-encoding", "stderr", "stderr-encoding"];
    let invalid = |reason: String| ToolError::InvalidInput {
        tool: "action-set",
        reason,
    };
    for segment in key.split('.') {
        let ok = !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !segment.starts_with('-')
            && !segment.ends_with('-');
        if !ok {
            return Err(invalid(format!(
                "key {} must start and end with lowercase alphanumeric, and contain only \
                 lowercase alphanumeric, hyphens and periods",
                crate::plan::types::show(key)
            )));
        }
        if RESERVED.contains(&segment) {
            return Err(invalid(format!(
                "cannot set reserved action key {segment:?}"
            )));
        }
    }
    Ok(())
}

/// Splits text into pieces of at most `max` bytes without cutting a character; an empty
/// text is one empty piece (juju-log needs a message).
fn split_at_char_boundaries(text: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_keys_follow_juju_rule() {
        for good in ["a", "result", "stats.frontend-1.sessions", "x9"] {
            assert!(check_action_key(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Foo",
            "a..b",
            "-a",
            "a-",
            "a_b",
            "stdout",
            "out.stderr-encoding",
        ] {
            assert!(check_action_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_log_messages_split_on_char_boundaries() {
        let text = "é".repeat(10);
        let pieces = split_at_char_boundaries(&text, 5);
        assert!(pieces.iter().all(|p| p.len() <= 5));
        assert_eq!(pieces.concat(), text);
        assert_eq!(split_at_char_boundaries("", 5), vec![""]);
    }

    #[test]
    fn missing_tool_names_the_search_path() {
        let tools = HookTools::new("/nonexistent-dir-a:/nonexistent-dir-b");
        match tools.is_leader() {
            Err(ToolError::NotFound { tool, search_path }) => {
                assert_eq!(tool, "is-leader");
                assert_eq!(search_path, "/nonexistent-dir-a:/nonexistent-dir-b");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(tools.call_count(), 0);
    }
}
