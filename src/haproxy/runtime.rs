//! The HAProxy runtime API: a small client for the admin (worker) socket and the master CLI,
//! the parsers for what they answer, and `changes(old, new)`, the pure decision between doing
//! nothing, runtime commands and a reload.
//!
//! Commands are built only from enums and validated names ([`ProxyName`], [`ServerName`]):
//! a `;` or newline in a value would run more commands (`spec/haproxy.md` §4 "Security").
//! This module never writes config files and never starts or signals processes.

use crate::plan::{Backend, LoadBalancerPlan, ProxyName, Server, ServerName};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot talk to HAProxy socket {path}: {source}")]
    Socket {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("HAProxy refused '{command}': {answer}")]
    Refused { command: String, answer: String },
    #[error("unexpected answer to '{command}': {detail}")]
    Unparsable { command: String, detail: String },
}

/// Send one command and read the whole answer. Both sockets answer and close once the client
/// half-closes; the master CLI *needs* it (§4: otherwise the read hangs), so always do it.
pub fn socket_command(
    path: &Path,
    command: &str,
    timeout: Duration,
) -> Result<String, RuntimeError> {
    let err = |source| RuntimeError::Socket {
        path: path.to_path_buf(),
        source,
    };
    let mut stream = UnixStream::connect(path).map_err(err)?;
    stream.set_read_timeout(Some(timeout)).map_err(err)?;
    stream.set_write_timeout(Some(timeout)).map_err(err)?;
    stream
        .write_all(format!("{command}\n").as_bytes())
        .map_err(err)?;
    stream.shutdown(std::net::Shutdown::Write).map_err(err)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(err)?;
    Ok(answer)
}

/// The admin state an operator can put a server in (`set server <be>/<srv> state ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerAdminState {
    Ready,
    Drain,
    Maint,
}

impl ServerAdminState {
    fn as_str(self) -> &'static str {
        match self {
            ServerAdminState::Ready => "ready",
            ServerAdminState::Drain => "drain",
            ServerAdminState::Maint => "maint",
        }
    }
}

/// A command the runtime API can apply without a reload. Only typed values, so its text is
/// always one line with no separator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuntimeCommand {
    SetWeight {
        backend: ProxyName,
        server: ServerName,
        weight: u16,
    },
    SetState {
        backend: ProxyName,
        server: ServerName,
        state: ServerAdminState,
    },
}

impl std::fmt::Display for RuntimeCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuntimeCommand::SetWeight {
                backend,
                server,
                weight,
            } => write!(f, "set server {backend}/{server} weight {weight}"),
            RuntimeCommand::SetState {
                backend,
                server,
                state,
            } => write!(f, "set server {backend}/{server} state {}", state.as_str()),
        }
    }
}

/// One row of `show stat`, by column name (§4: 128 columns, parse by name, not position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow(BTreeMap<String, String>);

impl StatRow {
    pub fn get(&self, column: &str) -> Option<&str> {
        self.0.get(column).map(String::as_str)
    }
    pub fn proxy(&self) -> &str {
        self.get("pxname").unwrap_or("")
    }
    pub fn service(&self) -> &str {
        self.get("svname").unwrap_or("")
    }
    pub fn status(&self) -> &str {
        self.get("status").unwrap_or("")
    }
}

/// Parse `show stat` CSV: header `# pxname,svname,...`, one row per proxy/server.
pub fn parse_show_stat(text: &str) -> Result<Vec<StatRow>, RuntimeError> {
    let mut lines = text.lines();
    let header = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .ok_or_else(|| RuntimeError::Unparsable {
            command: "show stat".into(),
            detail: "no '# pxname,...' header".into(),
        })?;
    let columns: Vec<&str> = header.split(',').collect();
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            StatRow(
                columns
                    .iter()
                    .zip(line.split(','))
                    .filter(|(c, _)| !c.is_empty())
                    .map(|(c, v)| ((*c).to_owned(), v.to_owned()))
                    .collect(),
            )
        })
        .collect())
}

/// Parse `show info`: `Key: value` lines.
pub fn parse_show_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// What the master CLI's `show proc` says (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcTable {
    pub master_pid: u32,
    /// Reload attempts since start.
    pub reloads: u32,
    /// Failed reloads since the last good one (`[failed: N]`; absent = 0).
    pub failed: u32,
    /// Current workers: (pid, reloads survived). 0 right after a good reload.
    pub workers: Vec<(u32, u32)>,
    /// Draining workers from before the last reload.
    pub old_workers: Vec<(u32, u32)>,
}

pub fn parse_show_proc(text: &str) -> Result<ProcTable, RuntimeError> {
    let bad = |detail: String| RuntimeError::Unparsable {
        command: "show proc".into(),
        detail,
    };
    #[derive(PartialEq)]
    enum Part {
        Master,
        Workers,
        OldWorkers,
        Other,
    }
    let mut part = Part::Master;
    let mut master: Option<(u32, u32, u32)> = None;
    let (mut workers, mut old_workers) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let line = line.trim();
        match line {
            "" => continue,
            "# workers" => part = Part::Workers,
            "# old workers" => part = Part::OldWorkers,
            l if l.starts_with("# ") => part = Part::Other,
            l if l.starts_with('#') => continue,
            l => {
                let words: Vec<&str> = l.split_whitespace().collect();
                let num = |i: usize| -> Result<u32, RuntimeError> {
                    words
                        .get(i)
                        .and_then(|w| w.parse().ok())
                        .ok_or_else(|| bad(format!("no number in column {} of '{l}'", i + 1)))
                };
                match part {
                    Part::Master if words.get(1) == Some(&"master") => {
                        let failed = l
                            .split_once("[failed: ")
                            .and_then(|(_, rest)| rest.split_once(']'))
                            .map(|(n, _)| n.trim().parse::<u32>())
                            .transpose()
                            .map_err(|_| bad(format!("bad [failed: N] in '{l}'")))?
                            .unwrap_or(0);
                        master = Some((num(0)?, num(2)?, failed));
                    }
                    Part::Workers => workers.push((num(0)?, num(2)?)),
                    Part::OldWorkers => old_workers.push((num(0)?, num(2)?)),
                    _ => {}
                }
            }
        }
    }
    let (master_pid, reloads, failed) = master.ok_or_else(|| bad("no master line".into()))?;
    Ok(ProcTable {
        master_pid,
        reloads,
        failed,
        workers,
        old_workers,
    })
}

/// A client for the worker's admin socket.
#[derive(Debug, Clone)]
pub struct AdminSocket {
    pub path: PathBuf,
    pub timeout: Duration,
}

impl AdminSocket {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AdminSocket {
            path: path.into(),
            timeout: Duration::from_secs(5),
        }
    }

    fn run(&self, command: &str) -> Result<String, RuntimeError> {
        socket_command(&self.path, command, self.timeout)
    }

    pub fn show_info(&self) -> Result<BTreeMap<String, String>, RuntimeError> {
        Ok(parse_show_info(&self.run("show info")?))
    }

    pub fn show_stat(&self) -> Result<Vec<StatRow>, RuntimeError> {
        parse_show_stat(&self.run("show stat")?)
    }

    /// The raw `show servers state` text, as the server-state file wants it (§4).
    pub fn show_servers_state(&self) -> Result<String, RuntimeError> {
        let text = self.run("show servers state")?;
        if !text.starts_with('1') {
            return Err(RuntimeError::Unparsable {
                command: "show servers state".into(),
                detail: format!(
                    "expected version line '1', got {}",
                    crate::plan::show(&text)
                ),
            });
        }
        Ok(text)
    }

    /// Apply one command; `set server` answers nothing on success.
    pub fn apply(&self, command: &RuntimeCommand) -> Result<(), RuntimeError> {
        let text = command.to_string();
        let answer = self.run(&text)?;
        if answer.trim().is_empty() {
            Ok(())
        } else {
            Err(RuntimeError::Refused {
                command: text,
                answer: answer.trim().to_owned(),
            })
        }
    }
}

/// Why a plan change needs a reload (logged, one per difference).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReloadReason {
    Global,
    Userlists,
    Stats,
    FrontendAdded(ProxyName),
    FrontendRemoved(ProxyName),
    FrontendChanged(ProxyName),
    BackendAdded(ProxyName),
    BackendRemoved(ProxyName),
    BackendChanged(ProxyName),
    ServerAdded(ProxyName, ServerName),
    ServerRemoved(ProxyName, ServerName),
    ServerChanged(ProxyName, ServerName),
    /// The runtime API failed; the reload brings the file's state in.
    RuntimeFailed(String),
}

impl std::fmt::Display for ReloadReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReloadReason::Global => f.write_str("global or defaults changed"),
            ReloadReason::Userlists => f.write_str("userlists changed"),
            ReloadReason::Stats => f.write_str("stats listener changed"),
            ReloadReason::FrontendAdded(n) => write!(f, "frontend {n} added"),
            ReloadReason::FrontendRemoved(n) => write!(f, "frontend {n} removed"),
            ReloadReason::FrontendChanged(n) => write!(f, "frontend {n} changed"),
            ReloadReason::BackendAdded(n) => write!(f, "backend {n} added"),
            ReloadReason::BackendRemoved(n) => write!(f, "backend {n} removed"),
            ReloadReason::BackendChanged(n) => write!(f, "backend {n} changed"),
            ReloadReason::ServerAdded(b, s) => write!(f, "server {b}/{s} added"),
            ReloadReason::ServerRemoved(b, s) => write!(f, "server {b}/{s} removed"),
            ReloadReason::ServerChanged(b, s) => write!(f, "server {b}/{s} changed"),
            ReloadReason::RuntimeFailed(e) => write!(f, "runtime update failed: {e}"),
        }
    }
}

/// What it takes to go from the running plan to a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    Unchanged,
    /// Everything differing can be applied through the socket (sorted commands). The config
    /// file is still rewritten, so the next reload keeps the state.
    Runtime(Vec<RuntimeCommand>),
    /// Sorted reasons.
    Reload(Vec<ReloadReason>),
}

/// Decide between nothing, runtime commands and a reload. Pure. Only a server's weight can
/// change at runtime; anything else is a reload with a reason per difference.
pub fn changes(old: &LoadBalancerPlan, new: &LoadBalancerPlan) -> Changes {
    let mut reasons = Vec::new();
    let mut commands = Vec::new();
    if old.global != new.global {
        reasons.push(ReloadReason::Global);
    }
    if old.userlists != new.userlists {
        reasons.push(ReloadReason::Userlists);
    }
    if old.stats != new.stats {
        reasons.push(ReloadReason::Stats);
    }
    let old_fe: BTreeMap<_, _> = old.frontends.iter().map(|f| (&f.name, f)).collect();
    let new_fe: BTreeMap<_, _> = new.frontends.iter().map(|f| (&f.name, f)).collect();
    for (name, fe) in &new_fe {
        match old_fe.get(name) {
            None => reasons.push(ReloadReason::FrontendAdded((*name).clone())),
            Some(old) if old != fe => reasons.push(ReloadReason::FrontendChanged((*name).clone())),
            Some(_) => {}
        }
    }
    for name in old_fe.keys().filter(|n| !new_fe.contains_key(*n)) {
        reasons.push(ReloadReason::FrontendRemoved((*name).clone()));
    }
    let old_be: BTreeMap<_, _> = old.backends.iter().map(|b| (&b.name, b)).collect();
    let new_be: BTreeMap<_, _> = new.backends.iter().map(|b| (&b.name, b)).collect();
    for (name, be) in &new_be {
        match old_be.get(name) {
            None => reasons.push(ReloadReason::BackendAdded((*name).clone())),
            Some(old) => backend_changes(old, be, &mut reasons, &mut commands),
        }
    }
    for name in old_be.keys().filter(|n| !new_be.contains_key(*n)) {
        reasons.push(ReloadReason::BackendRemoved((*name).clone()));
    }
    if !reasons.is_empty() {
        reasons.sort();
        Changes::Reload(reasons)
    } else if !commands.is_empty() {
        commands.sort();
        Changes::Runtime(commands)
    } else {
        Changes::Unchanged
    }
}

fn backend_changes(
    old: &Backend,
    new: &Backend,
    reasons: &mut Vec<ReloadReason>,
    commands: &mut Vec<RuntimeCommand>,
) {
    // Destructured whole: a new Backend field does not compile until it is compared here.
    let Backend {
        name,
        mode,
        balance,
        stickiness,
        health_check,
        directives,
        errorfiles,
        servers,
    } = new;
    let settings_changed = old.mode != *mode
        || old.balance != *balance
        || old.stickiness != *stickiness
        || old.health_check != *health_check
        || old.directives != *directives
        || old.errorfiles != *errorfiles;
    let old_names: Vec<&ServerName> = old.servers.iter().map(|s| &s.name).collect();
    let new_names: Vec<&ServerName> = servers.iter().map(|s| &s.name).collect();
    let added: Vec<_> = new_names
        .iter()
        .filter(|s| !old_names.contains(s))
        .collect();
    let removed: Vec<_> = old_names
        .iter()
        .filter(|s| !new_names.contains(s))
        .collect();
    // Same servers in another order still render differently (cookie and hash order).
    let reordered = added.is_empty() && removed.is_empty() && old_names != new_names;
    if settings_changed || reordered {
        reasons.push(ReloadReason::BackendChanged(name.clone()));
    }
    for s in added {
        reasons.push(ReloadReason::ServerAdded(name.clone(), (**s).clone()));
    }
    for s in removed {
        reasons.push(ReloadReason::ServerRemoved(name.clone(), (**s).clone()));
    }
    for server in servers {
        if let Some(old_server) = old.servers.iter().find(|s| s.name == server.name) {
            server_changes(name, old_server, server, reasons, commands);
        }
    }
}

fn server_changes(
    backend: &ProxyName,
    old: &Server,
    new: &Server,
    reasons: &mut Vec<ReloadReason>,
    commands: &mut Vec<RuntimeCommand>,
) {
    let Server {
        name,
        host,
        port,
        weight,
        check,
        options,
    } = new;
    if old.host != *host || old.port != *port || old.check != *check || old.options != *options {
        reasons.push(ReloadReason::ServerChanged(backend.clone(), name.clone()));
    } else if old.weight != *weight {
        commands.push(RuntimeCommand::SetWeight {
            backend: backend.clone(),
            server: name.clone(),
            // HAProxy's default weight is 1 (`Server::weight`).
            weight: weight.unwrap_or(1),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOW_PROC: &str =
        "#<PID>          <type>          <reloads>       <uptime>        <version>\n\
16871           master          3 [failed: 1]   0d00h00m11s     2.6.12-1+deb12u4\n\
# workers\n\
6731            worker          1               0d00h00m05s     2.6.12-1+deb12u4\n\
# old workers\n\
6935            worker          20              0d00h00m42s     2.6.12-1+deb12u4\n\
# programs\n\n";

    #[test]
    fn show_proc_reads_reloads_failed_and_workers() {
        let table = parse_show_proc(SHOW_PROC).unwrap();
        assert_eq!(
            table,
            ProcTable {
                master_pid: 16871,
                reloads: 3,
                failed: 1,
                workers: vec![(6731, 1)],
                old_workers: vec![(6935, 20)],
            }
        );
    }

    #[test]
    fn show_proc_without_failed_marker_means_zero_failed() {
        let text = "#<PID> <type> <reloads> <uptime> <version>\n5 master 0 0d00h00m01s 2.6\n# workers\n6 worker 0 0d00h00m01s 2.6\n";
        let table = parse_show_proc(text).unwrap();
        assert_eq!((table.reloads, table.failed), (0, 0));
        assert_eq!(table.workers, vec![(6, 0)]);
    }

    #[test]
    fn show_proc_without_master_is_an_error() {
        assert!(parse_show_proc("# workers\n6 worker 0 x y\n").is_err());
    }

    #[test]
    fn show_stat_is_parsed_by_column_name() {
        let text =
            "# pxname,svname,qcur,status,weight,\nbe_web,web-0,0,UP,1,\nbe_web,BACKEND,0,UP,1,\n\n";
        let rows = parse_show_stat(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].proxy(), "be_web");
        assert_eq!(rows[0].service(), "web-0");
        assert_eq!(rows[0].status(), "UP");
        assert_eq!(rows[0].get("weight"), Some("1"));
        assert!(parse_show_stat("garbage").is_err());
    }

    #[test]
    fn show_info_reads_key_value_lines() {
        let info = parse_show_info("Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nPid: 42\n");
        assert_eq!(info.get("Pid").map(String::as_str), Some("42"));
    }

    mod changes_table {
        use super::super::*;
        use crate::plan::*;

        fn srv(name: &str, last: u8, weight: Option<u16>) -> Server {
            Server {
                name: ServerName::new(name).unwrap(),
                host: Host::Ip(std::net::IpAddr::from([127, 0, 2, last])),
                port: Port::new(8080).unwrap(),
                weight,
                check: true,
                options: vec![],
            }
        }

        fn base() -> LoadBalancerPlan {
            let be = Backend {
                name: ProxyName::new("be_web").unwrap(),
                mode: Mode::Http,
                balance: Some(Balance::RoundRobin),
                stickiness: None,
                health_check: None,
                directives: vec![],
                errorfiles: vec![],
                servers: vec![srv("web-0", 1, None), srv("web-1", 2, Some(5))],
            };
            let fe = Frontend {
                name: ProxyName::new("fe_web").unwrap(),
                bind: Bind {
                    host: None,
                    port: Port::new(80).unwrap(),
                },
                mode: Mode::Http,
                tls: None,
                directives: vec![],
                routes: vec![],
                default_backend: Some(be.name.clone()),
            };
            LoadBalancerPlan {
                global: GlobalSettings::default(),
                frontends: vec![fe],
                backends: vec![be],
                userlists: vec![],
                stats: None,
                services: vec![],
            }
        }

        fn n(text: &str) -> ProxyName {
            ProxyName::new(text).unwrap()
        }
        fn s(text: &str) -> ServerName {
            ServerName::new(text).unwrap()
        }

        #[test]
        fn table() {
            type Edit = fn(&mut LoadBalancerPlan);
            let cases: Vec<(&str, Edit, Changes)> = vec![
                ("identical plans", |_| {}, Changes::Unchanged),
                (
                    "only the services list differs (answers, not config)",
                    |p| p.services.clear(),
                    Changes::Unchanged,
                ),
                (
                    "weight change goes through the socket",
                    |p| p.backends[0].servers[0].weight = Some(50),
                    Changes::Runtime(vec![RuntimeCommand::SetWeight {
                        backend: n("be_web"),
                        server: s("web-0"),
                        weight: 50,
                    }]),
                ),
                (
                    "weight back to default is weight 1",
                    |p| p.backends[0].servers[1].weight = None,
                    Changes::Runtime(vec![RuntimeCommand::SetWeight {
                        backend: n("be_web"),
                        server: s("web-1"),
                        weight: 1,
                    }]),
                ),
                (
                    "two weights give sorted commands",
                    |p| {
                        p.backends[0].servers[1].weight = Some(7);
                        p.backends[0].servers[0].weight = Some(3);
                    },
                    Changes::Runtime(vec![
                        RuntimeCommand::SetWeight {
                            backend: n("be_web"),
                            server: s("web-0"),
                            weight: 3,
                        },
                        RuntimeCommand::SetWeight {
                            backend: n("be_web"),
                            server: s("web-1"),
                            weight: 7,
                        },
                    ]),
                ),
                (
                    "server address change reloads",
                    |p| p.backends[0].servers[0].host = Host::Ip([127, 0, 2, 9].into()),
                    Changes::Reload(vec![ReloadReason::ServerChanged(n("be_web"), s("web-0"))]),
                ),
                (
                    "server added reloads with its name",
                    |p| p.backends[0].servers.push(srv("web-2", 3, None)),
                    Changes::Reload(vec![ReloadReason::ServerAdded(n("be_web"), s("web-2"))]),
                ),
                (
                    "server removed reloads with its name",
                    |p| {
                        p.backends[0].servers.pop();
                    },
                    Changes::Reload(vec![ReloadReason::ServerRemoved(n("be_web"), s("web-1"))]),
                ),
                (
                    "servers reordered reloads the backend",
                    |p| p.backends[0].servers.reverse(),
                    Changes::Reload(vec![ReloadReason::BackendChanged(n("be_web"))]),
                ),
                (
                    "balance change reloads the backend",
                    |p| p.backends[0].balance = Some(Balance::LeastConn),
                    Changes::Reload(vec![ReloadReason::BackendChanged(n("be_web"))]),
                ),
                (
                    "weight and balance together: the reload carries the weight",
                    |p| {
                        p.backends[0].balance = None;
                        p.backends[0].servers[0].weight = Some(9);
                    },
                    Changes::Reload(vec![ReloadReason::BackendChanged(n("be_web"))]),
                ),
                (
                    "frontend port change reloads",
                    |p| p.frontends[0].bind.port = Port::new(8080).unwrap(),
                    Changes::Reload(vec![ReloadReason::FrontendChanged(n("fe_web"))]),
                ),
                (
                    "new frontend and backend",
                    |p| {
                        let mut be = p.backends[0].clone();
                        be.name = n("be_api");
                        let mut fe = p.frontends[0].clone();
                        fe.name = n("fe_api");
                        p.backends.push(be);
                        p.frontends.push(fe);
                    },
                    Changes::Reload(vec![
                        ReloadReason::FrontendAdded(n("fe_api")),
                        ReloadReason::BackendAdded(n("be_api")),
                    ]),
                ),
                (
                    "everything removed",
                    |p| {
                        p.frontends.clear();
                        p.backends.clear();
                    },
                    Changes::Reload(vec![
                        ReloadReason::FrontendRemoved(n("fe_web")),
                        ReloadReason::BackendRemoved(n("be_web")),
                    ]),
                ),
                (
                    "global maxconn change",
                    |p| p.global.maxconn = 10,
                    Changes::Reload(vec![ReloadReason::Global]),
                ),
            ];
            for (name, edit, expected) in cases {
                let old = base();
                let mut new = base();
                edit(&mut new);
                assert_eq!(changes(&old, &new), expected, "{name}");
            }
        }
    }

    #[test]
    fn runtime_commands_print_one_line_from_typed_names() {
        let cmd = RuntimeCommand::SetState {
            backend: ProxyName::new("be_web").unwrap(),
            server: ServerName::new("web-0").unwrap(),
            state: ServerAdminState::Drain,
        };
        assert_eq!(cmd.to_string(), "set server be_web/web-0 state drain");
        let cmd = RuntimeCommand::SetWeight {
            backend: ProxyName::new("be_web").unwrap(),
            server: ServerName::new("web-1").unwrap(),
            weight: 50,
        };
        assert_eq!(cmd.to_string(), "set server be_web/web-1 weight 50");
    }
}
