//! The `jujusim` command line: argument parsing (by hand: a few flags per command, and hook
//! tools must stay a tiny client, so no CLI framework), one model lock per command, settle
//! after every change, and printing like the `juju` command it mirrors. Output shaping for
//! `status`, `show-unit` and `config` is in `report`.

use crate::engine::{Sim, SimError};
use crate::lifecycle;
use crate::model::ModelDir;
use crate::report;
use std::path::{Path, PathBuf};

pub const HELP: &str = "\
jujusim: a Juju model simulator that runs real charms (any language, ops or not).

Usage: jujusim [--model DIR] COMMAND [ARGS...]

The model lives in DIR (--model, else $JUJUSIM_MODEL, else ./.jujusim). Every command that
changes the model then settles it: queued hooks run, in Juju's order, until none remain.
Each principal unit runs on its own machine: a network namespace on the model's bridge
(address 198.18.N.(M+10)) and a private mount namespace (see README). Needs root.

Commands:
  init [--name NAME] [--juju-version V]   create the model directory
  deploy CHARM [APP] [-n N] [--config k=v ...]
                                          deploy a charm directory or .charm file
  add-unit APP [-n N]                     add units (each on a new machine)
  remove-unit UNIT...                     remove units (departed/broken, stop, remove)
  remove-application APP                  remove an application and its units
  relate A[:ep] B[:ep]                    relate two applications (alias: integrate)
  remove-relation A[:ep] B[:ep] | ID      remove a relation
  config APP [KEY | k=v ... | --reset k]  show, read or change configuration
  run UNIT ACTION [k=v ...] [--params FILE] [--format yaml|json]
                                          run an action (UNIT may be APP/leader); values are
                                          YAML, dotted keys nest; exits 1 when the task fails
  show-task ID                            a finished task as YAML
  status [--format tabular|yaml|json]     applications, units, addresses, ports, relations
  show-unit UNIT [--format yaml|json]     a unit with its relation data
  show-status-log UNIT                    the unit's workload and agent status history
  fire UNIT HOOK [-r ID] [--remote-unit U]
                                          queue a hook (e.g. update-status) and settle
  resolve UNIT [--no-retry]               retry (or skip) the hook that failed
  set-leader UNIT                         move leadership (leader-elected, leader-settings-changed)
  debug-log [--include UNIT] [--level LEVEL]
                                          juju-log records and hook output
  upgrade-charm APP CHARM                 replace the charm, then upgrade-charm + config-changed
  exec UNIT -- CMD...                     run CMD (joined, via bash -c) inside the unit's machine
                                          with hook tools available, like `juju exec`
  settle                                  run queued hooks
  bench-tools [N]                         time N tool calls through the socket (default 200)
  destroy                                 kill every process of the model, remove its namespaces
  help                                    this text

Environment:
  JUJUSIM_MODEL          the model directory when --model is not given
  JUJUSIM_HOOK_TIMEOUT   seconds a hook may run before it is killed and fails (default 300)
  JUJUSIM_SETTLE_LIMIT   hooks one settle may run before it reports a loop (default 2000)
  JUJUSIM_JUJU_VERSION   JUJU_VERSION given to hooks (default: the model's, 3.6.8)
";

/// Entry point for `jujusim ...`; returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ERROR {e}");
            1
        }
    }
}

struct Args {
    items: Vec<String>,
}

impl Args {
    /// Removes every `--name VALUE` / `--name=VALUE` (or a short alias) and returns the last
    /// value: a repeated single-valued option means its last occurrence, as in Juju's CLI.
    fn take_value(&mut self, names: &[&str]) -> Result<Option<String>, SimError> {
        Ok(self.take_all_of(names)?.pop())
    }

    /// Removes every `--name VALUE`, returning the values in order (`--config a=1 --config
    /// b=2` gives both).
    fn take_all(&mut self, name: &str) -> Result<Vec<String>, SimError> {
        self.take_all_of(&[name])
    }

    fn take_all_of(&mut self, names: &[&str]) -> Result<Vec<String>, SimError> {
        let mut found = Vec::new();
        let mut i = 0;
        while i < self.items.len() {
            let item = &self.items[i];
            if item == "--" {
                break;
            }
            if names.contains(&item.as_str()) {
                if i + 1 >= self.items.len() {
                    return Err(SimError::User(format!("option needs an argument: {item}")));
                }
                found.push(self.items.remove(i + 1));
                self.items.remove(i);
                continue;
            }
            if let Some((k, v)) = item.split_once('=') {
                if names.contains(&k) && k.starts_with("--") {
                    found.push(v.to_string());
                    self.items.remove(i);
                    continue;
                }
            }
            i += 1;
        }
        Ok(found)
    }

    fn take_flag(&mut self, name: &str) -> bool {
        let stop = self
            .items
            .iter()
            .position(|a| a == "--")
            .unwrap_or(self.items.len());
        match self.items[..stop].iter().position(|a| a == name) {
            Some(i) => {
                self.items.remove(i);
                true
            }
            None => false,
        }
    }

    /// The remaining arguments; refuses unknown flags.
    fn positionals(self) -> Result<Vec<String>, SimError> {
        for a in &self.items {
            if a == "--" {
                break;
            }
            if a.starts_with("--") || (a.starts_with('-') && a.len() > 1) {
                return Err(SimError::User(format!(
                    "option provided but not defined: {a}"
                )));
            }
        }
        Ok(self.items)
    }
}

fn model_root(flag: Option<String>) -> PathBuf {
    let raw = flag
        .or_else(|| {
            std::env::var("JUJUSIM_MODEL")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .unwrap_or_else(|| ".jujusim".into());
    let p = PathBuf::from(raw);
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|c| c.join(&p)).unwrap_or(p)
    }
}

/// The open model with its lock.
struct Open {
    sim: Sim,
    _lock: Option<nix::fcntl::Flock<std::fs::File>>,
}

fn open(root: &Path) -> Result<Open, SimError> {
    let dir = ModelDir::new(root.to_path_buf());
    if !dir.exists() {
        return Err(SimError::User(format!(
            "{} is not a jujusim model (run `jujusim --model {} init`)",
            root.display(),
            root.display()
        )));
    }
    let lock = dir.lock()?;
    let model = dir.load()?;
    lifecycle::refresh_tools_dir(&dir)?;
    Ok(Open {
        sim: Sim { dir, model },
        _lock: Some(lock),
    })
}

/// The model as last saved, without the lock: reads never wait for a running settle (the state
/// file is replaced atomically, so a reader sees one consistent version).
fn open_readonly(root: &Path) -> Result<Open, SimError> {
    let dir = ModelDir::new(root.to_path_buf());
    if !dir.exists() {
        return Err(SimError::User(format!(
            "{} is not a jujusim model (run `jujusim --model {} init`)",
            root.display(),
            root.display()
        )));
    }
    let model = dir.load()?;
    Ok(Open {
        sim: Sim { dir, model },
        _lock: None,
    })
}

fn parse_pairs(items: &[String]) -> Result<Vec<(String, String)>, SimError> {
    items
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| SimError::User(format!("expected \"key=value\", got {kv:?}")))
        })
        .collect()
}

fn need(pos: &[String], n: usize, usage: &str) -> Result<(), SimError> {
    if pos.len() < n {
        return Err(SimError::User(format!("usage: jujusim {usage}")));
    }
    Ok(())
}

fn no_more(pos: &[String], n: usize) -> Result<(), SimError> {
    if pos.len() > n {
        let extra: Vec<String> = pos[n..].iter().map(|s| format!("{s:?}")).collect();
        return Err(SimError::User(format!(
            "unrecognized args: [{}]",
            extra.join(" ")
        )));
    }
    Ok(())
}

fn parse_count(v: Option<String>) -> Result<Option<u32>, SimError> {
    v.map(|s| {
        s.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
            SimError::User(format!(
                "invalid value {s:?} for option -n: must be a positive number"
            ))
        })
    })
    .transpose()
}

fn run(argv: Vec<String>) -> Result<i32, SimError> {
    let mut args = Args { items: argv };
    let model_flag = {
        // --model is global: only before the command.
        let mut cmd_pos = 0;
        while cmd_pos < args.items.len() && args.items[cmd_pos].starts_with('-') {
            let takes_value = matches!(args.items[cmd_pos].as_str(), "--model" | "-m");
            cmd_pos += if takes_value { 2 } else { 1 };
        }
        let cmd_pos = cmd_pos.min(args.items.len());
        let mut head = Args {
            items: args.items[..cmd_pos.min(args.items.len())].to_vec(),
        };
        let m = head.take_value(&["--model", "-m"])?;
        let rest = args.items.split_off(cmd_pos.min(args.items.len()));
        if head.items.iter().any(|a| a == "-h" || a == "--help")
            || (rest.is_empty() && head.items.is_empty())
        {
            print!("{HELP}");
            return Ok(0);
        }
        if let Some(bad) = head.items.first() {
            return Err(SimError::User(format!(
                "option provided but not defined: {bad}"
            )));
        }
        args.items = rest;
        m
    };
    let root = model_root(model_flag);
    let command = args.items.remove(0);
    if args
        .items
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "-h" || a == "--help")
    {
        print!("{HELP}");
        return Ok(0);
    }
    match command.as_str() {
        "help" => {
            print!("{HELP}");
            Ok(0)
        }
        "init" => {
            let name = args.take_value(&["--name"])?;
            let version = args.take_value(&["--juju-version"])?;
            let pos = args.positionals()?;
            no_more(&pos, 0)?;
            lifecycle::init(&root, name.as_deref(), version.as_deref())?;
            println!("initialised model in {}", root.display());
            Ok(0)
        }
        "deploy" => {
            let n = parse_count(args.take_value(&["-n", "--num-units"])?)?;
            let config = args.take_all("--config")?;
            let pos = args.positionals()?;
            need(&pos, 1, "deploy CHARM [APP] [-n N] [--config k=v ...]")?;
            no_more(&pos, 2)?;
            let pairs = parse_pairs(&config)?;
            let mut o = open(&root)?;
            let app = o.sim.deploy(
                Path::new(&pos[0]),
                pos.get(1).map(String::as_str),
                n,
                &pairs,
            )?;
            eprintln!("Deployed {app:?} from {}", pos[0]);
            settle(&mut o.sim)
        }
        "add-unit" => {
            let n = parse_count(args.take_value(&["-n", "--num-units"])?)?.unwrap_or(1);
            let pos = args.positionals()?;
            need(&pos, 1, "add-unit APP [-n N]")?;
            no_more(&pos, 1)?;
            let mut o = open(&root)?;
            o.sim.add_units(&pos[0], n)?;
            settle(&mut o.sim)
        }
        "remove-unit" => {
            let pos = args.positionals()?;
            need(&pos, 1, "remove-unit UNIT...")?;
            let mut o = open(&root)?;
            o.sim.remove_units(&pos)?;
            settle(&mut o.sim)
        }
        "remove-application" => {
            let pos = args.positionals()?;
            need(&pos, 1, "remove-application APP")?;
            let mut o = open(&root)?;
            for app in &pos {
                o.sim.remove_application(app)?;
            }
            settle(&mut o.sim)
        }
        "relate" | "integrate" | "add-relation" => {
            let pos = args.positionals()?;
            need(&pos, 2, "relate A[:endpoint] B[:endpoint]")?;
            no_more(&pos, 2)?;
            let mut o = open(&root)?;
            o.sim.relate(&pos[0], &pos[1])?;
            settle(&mut o.sim)
        }
        "remove-relation" => {
            let pos = args.positionals()?;
            need(&pos, 1, "remove-relation A[:endpoint] B[:endpoint] | ID")?;
            no_more(&pos, 2)?;
            let mut o = open(&root)?;
            let id = o
                .sim
                .find_relation(&pos[0], pos.get(1).map(String::as_str))?;
            o.sim.remove_relation(id)?;
            settle(&mut o.sim)
        }
        "config" => {
            let reset = args.take_all("--reset")?;
            let format = args.take_value(&["--format"])?;
            let pos = args.positionals()?;
            need(&pos, 1, "config APP [KEY | k=v ...]")?;
            let app = pos[0].clone();
            let rest = &pos[1..];
            if rest.is_empty() && reset.is_empty() {
                let o = open_readonly(&root)?;
                print!("{}", report::config(&o.sim, &app, format.as_deref())?);
                return Ok(0);
            }
            if rest.len() == 1 && !rest[0].contains('=') && reset.is_empty() {
                let o = open_readonly(&root)?;
                print!("{}", report::config_value(&o.sim, &app, &rest[0])?);
                return Ok(0);
            }
            let mut o = open(&root)?;
            let reset: Vec<String> = reset
                .iter()
                .flat_map(|r| r.split(',').map(str::to_string))
                .collect();
            o.sim.set_config(&app, &parse_pairs(rest)?, &reset)?;
            settle(&mut o.sim)
        }
        "run" => {
            let format = args.take_value(&["--format"])?;
            let params_file = args.take_value(&["--params"])?;
            let pos = args.positionals()?;
            need(&pos, 2, "run UNIT ACTION [k=v ...] [--params FILE]")?;
            let file_params = match params_file {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| SimError::User(format!("{path}: {e}")))?;
                    let v: serde_yaml::Value = serde_yaml::from_str(&text)
                        .map_err(|e| SimError::User(format!("{path}: {e}")))?;
                    Some(
                        serde_json::to_value(v)
                            .map_err(|e| SimError::User(format!("{path}: {e}")))?,
                    )
                }
                None => None,
            };
            let mut o = open(&root)?;
            let unit = resolve_unit(&o.sim, &pos[0])?;
            let params = report::action_params(&o.sim, &unit, &pos[1], &pos[2..], file_params)?;
            let task = o.sim.run_action(&unit, &pos[1], params)?;
            let code = settle(&mut o.sim)?;
            let t = o.sim.model.tasks[&task].clone();
            eprintln!(
                "Running operation {} with 1 task\n  - task {} on unit-{}\n\nWaiting for task {}...",
                t.operation,
                t.id,
                t.unit.replace('/', "-"),
                t.id
            );
            print!("{}", report::task_output(&t, format.as_deref())?);
            if t.status != "completed" {
                let rc = t
                    .results
                    .get("return-code")
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0);
                if !t.message.is_empty() {
                    eprintln!("Action id {} failed: {}", t.id, t.message);
                }
                eprintln!(
                    "ERROR the following task failed:\n id {:?} with return code {rc}\n\nuse 'juju show-task' to inspect the failure",
                    t.id.to_string()
                );
                return Ok(1);
            }
            Ok(code)
        }
        "show-task" => {
            let pos = args.positionals()?;
            need(&pos, 1, "show-task ID")?;
            let o = open_readonly(&root)?;
            let id: u64 = pos[0]
                .parse()
                .map_err(|_| SimError::User(format!("invalid task id {:?}", pos[0])))?;
            let t = o
                .sim
                .model
                .tasks
                .get(&id)
                .ok_or_else(|| SimError::User(format!("task {id} not found")))?;
            print!("{}", report::task_output(t, Some("yaml"))?);
            Ok(0)
        }
        "status" => {
            let format = args.take_value(&["--format"])?;
            let pos = args.positionals()?;
            no_more(&pos, 0)?;
            let o = open_readonly(&root)?;
            print!(
                "{}",
                report::status(&o.sim, format.as_deref().unwrap_or("tabular"))?
            );
            Ok(0)
        }
        "show-unit" => {
            let format = args.take_value(&["--format"])?;
            let pos = args.positionals()?;
            need(&pos, 1, "show-unit UNIT")?;
            let o = open_readonly(&root)?;
            let mut out = String::new();
            for u in &pos {
                out.push_str(&report::show_unit(
                    &o.sim,
                    u,
                    format.as_deref().unwrap_or("yaml"),
                )?);
            }
            print!("{out}");
            Ok(0)
        }
        "show-status-log" => {
            let pos = args.positionals()?;
            need(&pos, 1, "show-status-log UNIT")?;
            no_more(&pos, 1)?;
            let o = open_readonly(&root)?;
            print!("{}", report::status_log(&o.sim, &pos[0])?);
            Ok(0)
        }
        "fire" => {
            let rel = args.take_value(&["-r", "--relation"])?;
            let remote = args.take_value(&["--remote-unit"])?;
            let pos = args.positionals()?;
            need(&pos, 2, "fire UNIT HOOK [-r ID] [--remote-unit U]")?;
            no_more(&pos, 2)?;
            let rel = rel
                .map(|r| {
                    r.rsplit(':')
                        .next()
                        .and_then(|x| x.parse::<u64>().ok())
                        .ok_or_else(|| SimError::User(format!("invalid relation id {r:?}")))
                })
                .transpose()?;
            let mut o = open(&root)?;
            o.sim.fire(&pos[0], &pos[1], rel, remote.as_deref())?;
            settle(&mut o.sim)
        }
        "resolve" | "resolved" => {
            let no_retry = args.take_flag("--no-retry");
            let pos = args.positionals()?;
            need(&pos, 1, "resolve UNIT [--no-retry]")?;
            let mut o = open(&root)?;
            for u in &pos {
                o.sim.resolve(u, no_retry)?;
            }
            settle(&mut o.sim)
        }
        "set-leader" => {
            let pos = args.positionals()?;
            need(&pos, 1, "set-leader UNIT")?;
            no_more(&pos, 1)?;
            let mut o = open(&root)?;
            o.sim.set_leader(&pos[0])?;
            settle(&mut o.sim)
        }
        "debug-log" => {
            let include = args.take_all("--include")?;
            let level = args.take_value(&["--level"])?;
            let pos = args.positionals()?;
            no_more(&pos, 0)?;
            let dir = ModelDir::new(root.clone());
            let text = std::fs::read_to_string(dir.debug_log()).unwrap_or_default();
            print!("{}", report::filter_log(&text, &include, level.as_deref()));
            Ok(0)
        }
        "upgrade-charm" | "refresh" => {
            let path = args.take_value(&["--path"])?;
            let pos = args.positionals()?;
            need(&pos, 1, "upgrade-charm APP CHARM")?;
            let charm = path
                .or_else(|| pos.get(1).cloned())
                .ok_or_else(|| SimError::User("usage: jujusim upgrade-charm APP CHARM".into()))?;
            let mut o = open(&root)?;
            o.sim.upgrade_charm(&pos[0], Path::new(&charm))?;
            settle(&mut o.sim)
        }
        "exec" => {
            let unit_flag = args.take_value(&["--unit", "-u"])?;
            let items = args.items;
            let sep = items.iter().position(|a| a == "--");
            let (head, cmd) = match sep {
                Some(i) => (items[..i].to_vec(), items[i + 1..].to_vec()),
                None => (items.clone(), Vec::new()),
            };
            let (unit, cmd) = match (unit_flag, head.as_slice()) {
                (Some(u), []) => (u, cmd),
                (None, [u]) => (u.clone(), cmd),
                (None, [u, rest @ ..]) if sep.is_none() => (u.clone(), rest.to_vec()),
                _ => return Err(SimError::User("usage: jujusim exec UNIT -- CMD...".into())),
            };
            if cmd.is_empty() {
                return Err(SimError::User("usage: jujusim exec UNIT -- CMD...".into()));
            }
            let mut o = open(&root)?;
            let unit = resolve_unit(&o.sim, &unit)?;
            let code = o
                .sim
                .exec(&unit, vec!["/bin/bash".into(), "-c".into(), cmd.join(" ")])?;
            let settled = settle(&mut o.sim)?;
            Ok(if code != 0 { code } else { settled })
        }
        "settle" => {
            let mut o = open(&root)?;
            settle(&mut o.sim)
        }
        "bench-tools" => {
            let pos = args.positionals()?;
            let n = pos
                .first()
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(200);
            let mut o = open(&root)?;
            let unit = o
                .sim
                .model
                .unit_names_sorted()
                .into_iter()
                .next()
                .ok_or_else(|| SimError::User("bench-tools needs a deployed unit".into()))?;
            let exe = std::env::current_exe()
                .map_err(|e| SimError::User(format!("cannot find the jujusim binary: {e}")))?;
            o.sim.exec(
                &unit,
                vec![
                    exe.display().to_string(),
                    "__bench-client".into(),
                    n.to_string(),
                ],
            )
        }
        "__bench-client" => {
            let n = args
                .items
                .first()
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(200);
            bench_client(n)
        }
        "destroy" | "destroy-model" => {
            let dir = ModelDir::new(root.clone());
            if !dir.exists() {
                eprintln!("no model at {}", root.display());
                return Ok(0);
            }
            // A command holding the lock may be stuck in a hook or `exec`: stop settling, end
            // every process in the model's machines (which ends that command), then take the
            // lock and tear down.
            let marker = dir.destroying_marker();
            let _ = std::fs::write(&marker, b"");
            if let Ok(snapshot) = dir.load() {
                if let Some(net) = snapshot.net_index {
                    for id in snapshot.machines.keys() {
                        crate::machine::kill_machine_processes(net, *id);
                    }
                }
            }
            let result = open(&root).and_then(|mut o| o.sim.destroy());
            let _ = std::fs::remove_file(&marker);
            result?;
            eprintln!("destroyed model in {}", root.display());
            Ok(0)
        }
        other => Err(SimError::User(format!(
            "unrecognized command: jujusim {other} (see `jujusim help`)"
        ))),
    }
}

/// Inside a hook context: times `n` runs of `is-leader --format=json` (what a charm pays per
/// tool call: fork, exec, socket round trip) against `n` runs of `/bin/true` (fork and exec
/// alone), and prints both per call.
fn bench_client(n: usize) -> Result<i32, SimError> {
    let time = |program: &str, args: &[&str]| -> Result<std::time::Duration, SimError> {
        let start = std::time::Instant::now();
        for _ in 0..n {
            let out = std::process::Command::new(program)
                .args(args)
                .output()
                .map_err(|e| SimError::User(format!("{program}: {e}")))?;
            if !out.status.success() {
                return Err(SimError::User(format!(
                    "{program} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )));
            }
        }
        Ok(start.elapsed() / n.max(1) as u32)
    };
    let tool = time("is-leader", &["--format=json"])?;
    let baseline = time("/bin/true", &[])?;
    println!(
        "{n} tool calls: {} us per call (spawning /bin/true: {} us; the simulator's share: {} us)",
        tool.as_micros(),
        baseline.as_micros(),
        tool.saturating_sub(baseline).as_micros()
    );
    Ok(0)
}

/// `app/leader` names the leader unit, as `juju run` accepts.
fn resolve_unit(sim: &Sim, name: &str) -> Result<String, SimError> {
    if let Some(app) = name.strip_suffix("/leader") {
        return sim
            .model
            .applications
            .get(app)
            .and_then(|a| a.leader.clone())
            .ok_or_else(|| SimError::User(format!("application {app:?} has no leader")));
    }
    sim.unit(name)?;
    Ok(name.to_string())
}

/// Settles and reports units left in error on stderr; the exit code is 0 either way (a hook
/// error is model state, as with Juju) unless settling itself failed.
fn settle(sim: &mut Sim) -> Result<i32, SimError> {
    sim.settle()?;
    for unit in sim.model.unit_names_sorted() {
        let u = &sim.model.units[&unit];
        if u.failed_hook.is_some() {
            eprintln!("unit {unit} is in error: {}", u.agent.status.message);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod args_tests {
    use super::Args;

    fn args(list: &[&str]) -> Args {
        Args {
            items: list.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn repeated_config_options_are_all_kept_in_order() {
        let mut a = args(&[
            "web",
            "--config",
            "a=1",
            "-n",
            "2",
            "--config=b=2",
            "--config",
            "c=3",
        ]);
        assert_eq!(a.take_all("--config").unwrap(), ["a=1", "b=2", "c=3"]);
        assert_eq!(a.take_value(&["-n"]).unwrap().as_deref(), Some("2"));
        assert_eq!(a.items, ["web"]);
    }

    #[test]
    fn a_repeated_single_valued_option_means_the_last_one() {
        let mut a = args(&["-n", "1", "-n", "3"]);
        assert_eq!(
            a.take_value(&["-n", "--num-units"]).unwrap().as_deref(),
            Some("3")
        );
    }

    #[test]
    fn options_after_double_dash_are_left_alone() {
        let mut a = args(&["u/0", "--", "cmd", "--config", "x"]);
        assert!(a.take_all("--config").unwrap().is_empty());
    }
}
