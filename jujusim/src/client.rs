//! The hook-tool side of the multi-call binary: invoked as `relation-get`, `status-set`, … it
//! forwards `{context id, cwd, tool, args, stdin}` to the runner's socket and reproduces the
//! answer byte for byte (spec `juju-hook-tools.md` §1.4). It never touches the model.

use crate::transport::{self, RequestHeader};
use std::io::{BufReader, Read, Write};
use std::os::unix::net::UnixStream;

/// Runs one tool call and returns the process exit code.
pub fn main(tool: &str, args: Vec<String>) -> i32 {
    let mut stderr = std::io::stderr();
    let context_id = match std::env::var("JUJU_CONTEXT_ID") {
        Ok(v) if !v.is_empty() => v,
        _ => {
            let _ = stderr.write_all(b"ERROR JUJU_CONTEXT_ID not set\n");
            return 1;
        }
    };
    let socket = match std::env::var("JUJU_AGENT_SOCKET_ADDRESS") {
        Ok(v) if !v.is_empty() => v,
        _ => {
            let _ = stderr.write_all(b"ERROR JUJU_AGENT_SOCKET_ADDRESS not set\n");
            return 1;
        }
    };
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // §1.4: stdin is read only when the command reads it, so a tool never blocks on it.
    let stdin = if crate::tools::needs_stdin(tool, &args) {
        let mut buf = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
            let _ = writeln!(stderr, "ERROR reading stdin: {e}");
            return 1;
        }
        Some(buf)
    } else {
        None
    };
    let header = RequestHeader {
        context_id,
        cwd,
        tool: tool.to_string(),
        args,
        stdin_len: stdin.as_ref().map(Vec::len),
    };
    match call(&socket, &header, stdin.as_deref()) {
        Ok((code, out, err)) => {
            let _ = std::io::stdout().write_all(&out);
            let _ = std::io::stdout().flush();
            let _ = stderr.write_all(&err);
            code
        }
        Err(e) => {
            let _ = writeln!(stderr, "ERROR cannot reach the unit agent at {socket}: {e}");
            1
        }
    }
}

fn call(
    socket: &str,
    header: &RequestHeader,
    stdin: Option<&[u8]>,
) -> Result<transport::Response, transport::TransportError> {
    let mut stream = UnixStream::connect(socket)?;
    transport::write_request(&mut stream, header, stdin)?;
    let mut reader = BufReader::new(stream);
    transport::read_response(&mut reader)
}
