//! The per-hook tool server: a thread listening on the unit's agent socket, answering each tool
//! call against the hook's [`HookContext`] with `tools::run` (one call at a time, §1.4), and
//! draining `ctx.immediate` after every call. juju-log records go to the debug log at once.
//! It knows nothing about hook order or commit rules.

use crate::context::{HookContext, ImmediateEffect};
use crate::model::ModelDir;
use crate::transport;
use std::io::BufReader;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// An immediate effect with the time it was made.
pub type Effect = (String, ImmediateEffect);

pub struct ToolServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<(HookContext, Vec<Effect>)>,
}

impl ToolServer {
    pub fn start(
        path: &Path,
        ctx: HookContext,
        model_dir: ModelDir,
    ) -> std::io::Result<ToolServer> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || serve(listener, ctx, model_dir, stop_flag));
        Ok(ToolServer {
            path: path.to_path_buf(),
            stop,
            handle,
        })
    }

    /// Stops serving (a later tool call gets "connection refused") and returns the context and
    /// the immediate effects in the order they happened.
    pub fn finish(self) -> (HookContext, Vec<Effect>) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = UnixStream::connect(&self.path);
        let result = match self.handle.join() {
            Ok(r) => r,
            Err(_) => unreachable_server_panic(),
        };
        let _ = std::fs::remove_file(&self.path);
        result
    }
}

fn unreachable_server_panic() -> (HookContext, Vec<Effect>) {
    // The server thread only panics on a bug in a tool; surface it loudly.
    eprintln!("jujusim: the tool server thread panicked");
    std::process::exit(70)
}

fn serve(
    listener: UnixListener,
    mut ctx: HookContext,
    model_dir: ModelDir,
    stop: Arc<AtomicBool>,
) -> (HookContext, Vec<Effect>) {
    let mut effects = Vec::new();
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = conn else { continue };
        handle(stream, &mut ctx, &model_dir, &mut effects);
    }
    (ctx, effects)
}

fn handle(
    stream: UnixStream,
    ctx: &mut HookContext,
    model_dir: &ModelDir,
    effects: &mut Vec<Effect>,
) {
    // A client that connects and never sends (or a stray process) must not wedge the server:
    // the hook's later calls, and the runner's shutdown, wait on this thread.
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(std::time::Duration::from_secs(30)));
    let mut reader = BufReader::new(&stream);
    let Ok((req, stdin)) = transport::read_request(&mut reader) else {
        return;
    };
    let (code, stdout, stderr) = if req.context_id != ctx.context_id {
        // §1.4 client-side error text.
        (
            1,
            Vec::new(),
            format!(
                "ERROR bad request: expected context id {:?}, got {:?}\n",
                ctx.context_id, req.context_id
            )
            .into_bytes(),
        )
    } else if !crate::tools::TOOL_NAMES.contains(&req.tool.as_str()) {
        (
            1,
            Vec::new(),
            format!("ERROR bad request: unknown command: {}\n", req.tool).into_bytes(),
        )
    } else {
        let out = crate::tools::run(
            &req.tool,
            &req.args,
            Path::new(&req.cwd),
            stdin.as_deref(),
            ctx,
        );
        (out.code, out.stdout, out.stderr)
    };
    let now = crate::model::now_rfc3339();
    let mut log_lines = Vec::new();
    for effect in ctx.immediate.drain(..) {
        if let ImmediateEffect::Log { level, message } = &effect {
            log_lines.push(log_line(&ctx.unit, &now, level, "juju-log", message));
        }
        effects.push((now.clone(), effect));
    }
    model_dir.append_log(&log_lines);
    let mut writer = &stream;
    let _ = transport::write_response(&mut writer, code, &stdout, &stderr);
}

/// One debug-log line, as `juju debug-log` prints it:
/// `unit-web-0: 14:02:03 INFO unit.web/0.juju-log message`.
pub fn log_line(unit: &str, rfc3339: &str, level: &str, module: &str, message: &str) -> String {
    let time = rfc3339.get(11..19).unwrap_or(rfc3339);
    format!(
        "unit-{}: {time} {level} unit.{unit}.{module} {message}",
        unit.replace('/', "-")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::RequestHeader;

    /// The socket round trip alone (no process spawn) must be a small part of the 2 ms budget.
    #[test]
    fn a_round_trip_through_the_server_is_cheap_and_checks_the_context_id() {
        let dir = tempfile::tempdir().unwrap();
        let md = ModelDir::new(dir.path().to_path_buf());
        let ctx = crate::tools::testutil::fixture();
        let id = ctx.context_id.clone();
        let sock = dir.path().join("t.sock");
        let server = ToolServer::start(&sock, ctx, md).unwrap();
        let call = |context_id: &str| {
            let mut s = UnixStream::connect(&sock).unwrap();
            let h = RequestHeader {
                context_id: context_id.into(),
                cwd: "/".into(),
                tool: "is-leader".into(),
                args: vec!["--format=json".into()],
                stdin_len: None,
            };
            transport::write_request(&mut s, &h, None).unwrap();
            transport::read_response(&mut BufReader::new(s)).unwrap()
        };
        let n = 200;
        let start = std::time::Instant::now();
        for _ in 0..n {
            let (code, out, _) = call(&id);
            assert_eq!(code, 0);
            assert!(out == b"true\n" || out == b"false\n");
        }
        let per_call = start.elapsed() / n;
        println!("socket round trip: {} us", per_call.as_micros());
        assert!(
            per_call < std::time::Duration::from_millis(1),
            "{per_call:?}"
        );
        let (code, _, err) = call("other");
        assert_eq!(code, 1);
        assert!(String::from_utf8_lossy(&err).starts_with("ERROR bad request: expected context id"));
        server.finish();
    }
}
