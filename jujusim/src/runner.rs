//! Running one hook, action or `exec` command as the unit agent does (spec §1.1, §1.2): pick
//! the handler (`dispatch`, else `hooks/<name>` / `actions/<name>`), start it with a fresh
//! environment inside the unit's machine, serve its tool calls, enforce the time limit, and
//! collect its output from files. Deciding what the outcome means for the model is `engine`'s.

use crate::context::HookContext;
use crate::machine::MachineEntry;
use crate::model::ModelDir;
use crate::server::{Effect, ToolServer};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The default hook time limit; `JUJUSIM_HOOK_TIMEOUT` (seconds) overrides it.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(300);

pub fn hook_timeout() -> Duration {
    std::env::var("JUJUSIM_HOOK_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_HOOK_TIMEOUT)
}

/// What to run: a hook by name, an action by name, or an `exec` command.
#[derive(Debug, Clone)]
pub enum Target {
    Hook(String),
    Action(String),
    /// argv, with stdio inherited from the CLI (like `juju exec`).
    Exec(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Exit {
    Code(i32),
    /// No handler for a hook: skipped, counts as success (§1.1 item 4).
    Skipped,
    /// The handler cannot run: Juju's message (`charm missing from disk`, `action not
    /// implemented on unit "a/0"`, a spawn error).
    Failed(String),
    TimedOut(Duration),
}

impl Exit {
    pub fn success(&self) -> bool {
        matches!(self, Exit::Code(0) | Exit::Skipped)
    }
}

pub struct Outcome {
    pub exit: Exit,
    pub ctx: HookContext,
    pub effects: Vec<Effect>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

pub struct RunSpec<'a> {
    pub model_dir: &'a ModelDir,
    pub charm_dir: &'a Path,
    pub unit_dir: &'a Path,
    pub socket: &'a Path,
    pub env: BTreeMap<String, String>,
    pub machine: Option<MachineEntry>,
    pub target: Target,
    pub timeout: Duration,
}

fn is_executable_file(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Picks the handler per §1.1.
fn discover(charm_dir: &Path, target: &Target, unit: &str) -> Result<Option<PathBuf>, String> {
    if !charm_dir.join("metadata.yaml").is_file() {
        return Err("charm missing from disk".into());
    }
    let (kind, name) = match target {
        Target::Hook(n) => ("hooks", n),
        Target::Action(n) => ("actions", n),
        Target::Exec(_) => return Ok(None),
    };
    let dispatch = charm_dir.join("dispatch");
    if dispatch.exists() {
        if is_executable_file(&dispatch) {
            return Ok(Some(dispatch));
        }
        return Err(format!(
            "fork/exec {}: permission denied",
            dispatch.display()
        ));
    }
    let explicit = charm_dir.join(kind).join(name);
    if is_executable_file(&explicit) {
        return Ok(Some(explicit));
    }
    match target {
        Target::Action(_) => Err(format!("action not implemented on unit {unit:?}")),
        _ => Ok(None),
    }
}

/// Runs the target to completion with its tool server, and returns what happened.
pub fn run(spec: RunSpec, ctx: HookContext) -> Outcome {
    let unit = ctx.unit.clone();
    let program: Vec<String> = match &spec.target {
        Target::Exec(argv) => argv.clone(),
        t => match discover(spec.charm_dir, t, &unit) {
            Ok(Some(path)) => vec![path.display().to_string()],
            Ok(None) => return plain(Exit::Skipped, ctx),
            Err(msg) => return plain(Exit::Failed(msg), ctx),
        },
    };
    let server = match ToolServer::start(spec.socket, ctx.clone(), spec.model_dir.clone()) {
        Ok(s) => s,
        Err(e) => {
            return plain(
                Exit::Failed(format!("cannot listen on {}: {e}", spec.socket.display())),
                ctx,
            )
        }
    };
    let exec = matches!(spec.target, Target::Exec(_));
    let out_path = spec.unit_dir.join("hook.stdout");
    let err_path = spec.unit_dir.join("hook.stderr");
    let mut cmd = Command::new(&program[0]);
    cmd.args(&program[1..])
        .env_clear()
        .envs(&spec.env)
        .current_dir(spec.charm_dir)
        .stdin(Stdio::null())
        .process_group(0);
    if !exec {
        // Files, not pipes: a daemon the hook starts inherits them and must never block.
        // Fresh inodes each run, so a daemon's later writes never land in the next hook's output.
        let _ = std::fs::remove_file(&out_path);
        let _ = std::fs::remove_file(&err_path);
        match (File::create(&out_path), File::create(&err_path)) {
            (Ok(o), Ok(e)) => {
                cmd.stdout(o).stderr(e);
            }
            (Err(e), _) | (_, Err(e)) => {
                let (ctx, effects) = server.finish();
                return Outcome {
                    exit: Exit::Failed(format!("cannot create hook output files: {e}")),
                    ctx,
                    effects,
                    stdout: vec![],
                    stderr: vec![],
                };
            }
        }
    }
    if let Some(entry) = spec.machine {
        // SAFETY: `enter` only makes system calls on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || entry.enter());
        }
    }
    let started = Instant::now();
    let exit = match cmd.spawn() {
        Err(e) => Exit::Failed(format!("fork/exec {}: {e}", program[0])),
        Ok(mut child) => wait_with_timeout(&mut child, spec.timeout, started),
    };
    let (ctx, effects) = server.finish();
    let (stdout, stderr) = if exec {
        (vec![], vec![])
    } else {
        (
            std::fs::read(&out_path).unwrap_or_default(),
            std::fs::read(&err_path).unwrap_or_default(),
        )
    };
    Outcome {
        exit,
        ctx,
        effects,
        stdout,
        stderr,
    }
}

fn plain(exit: Exit, ctx: HookContext) -> Outcome {
    Outcome {
        exit,
        ctx,
        effects: vec![],
        stdout: vec![],
        stderr: vec![],
    }
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration, started: Instant) -> Exit {
    let mut pause = Duration::from_micros(200);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt;
                return match (status.code(), status.signal()) {
                    (Some(c), _) => Exit::Code(c),
                    (None, Some(sig)) => Exit::Code(128 + sig),
                    (None, None) => Exit::Code(1),
                };
            }
            Ok(None) => {}
            Err(e) => return Exit::Failed(format!("waiting for the hook: {e}")),
        }
        if started.elapsed() >= limit {
            // Kill the hook's whole process group (daemons it detached survive, as on Juju).
            let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            return Exit::TimedOut(limit);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}
