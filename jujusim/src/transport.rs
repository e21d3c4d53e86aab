//! The wire format between a hook tool process (`client`) and the runner's socket server
//! (`server`): one request and one response per connection over a unix socket.
//!
//! Framing: a JSON header line, then the raw bytes it announces (stdin in a request; stdout and
//! stderr in a response). Raw bytes keep relation data byte-exact and avoid base64 costs. This
//! module knows nothing about the model or the tools (spec `juju-hook-tools.md` §1.4).

use serde::{Deserialize, Serialize};
use std::io::{BufRead, Read, Write};

/// What a tool invocation sends to the agent (§1.4: `{ContextId, Dir, CommandName, Args}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestHeader {
    pub context_id: String,
    pub cwd: String,
    pub tool: String,
    pub args: Vec<String>,
    /// `Some(len)` when stdin bytes follow the header (only for tools that read stdin).
    pub stdin_len: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResponseHeader {
    pub code: i32,
    pub stdout_len: usize,
    pub stderr_len: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed header: {0}")]
    Header(#[from] serde_json::Error),
    #[error("connection closed before the header")]
    Closed,
}

pub fn write_request(
    w: &mut impl Write,
    header: &RequestHeader,
    stdin: Option<&[u8]>,
) -> Result<(), TransportError> {
    let mut buf = serde_json::to_vec(header)?;
    buf.push(b'\n');
    if let Some(bytes) = stdin {
        buf.extend_from_slice(bytes);
    }
    w.write_all(&buf)?;
    w.flush()?;
    Ok(())
}

pub fn read_request(
    r: &mut impl BufRead,
) -> Result<(RequestHeader, Option<Vec<u8>>), TransportError> {
    let header: RequestHeader = read_header(r)?;
    let stdin = match header.stdin_len {
        Some(len) => Some(read_exact_vec(r, len)?),
        None => None,
    };
    Ok((header, stdin))
}

pub fn write_response(
    w: &mut impl Write,
    code: i32,
    stdout: &[u8],
    stderr: &[u8],
) -> Result<(), TransportError> {
    let header = ResponseHeader {
        code,
        stdout_len: stdout.len(),
        stderr_len: stderr.len(),
    };
    let mut buf = serde_json::to_vec(&header)?;
    buf.push(b'\n');
    buf.extend_from_slice(stdout);
    buf.extend_from_slice(stderr);
    w.write_all(&buf)?;
    w.flush()?;
    Ok(())
}

/// A response: exit code, stdout, stderr.
pub type Response = (i32, Vec<u8>, Vec<u8>);

pub fn read_response(r: &mut impl BufRead) -> Result<Response, TransportError> {
    let header: ResponseHeader = read_header(r)?;
    let stdout = read_exact_vec(r, header.stdout_len)?;
    let stderr = read_exact_vec(r, header.stderr_len)?;
    Ok((header.code, stdout, stderr))
}

fn read_header<T: for<'de> Deserialize<'de>>(r: &mut impl BufRead) -> Result<T, TransportError> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(TransportError::Closed);
    }
    Ok(serde_json::from_slice(&line)?)
}

fn read_exact_vec(r: &mut impl Read, len: usize) -> Result<Vec<u8>, TransportError> {
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_with_binary_stdin() {
        let header = RequestHeader {
            context_id: "a/0-install-1".into(),
            cwd: "/x".into(),
            tool: "relation-set".into(),
            args: vec!["--file".into(), "-".into()],
            stdin_len: Some(4),
        };
        let mut buf = Vec::new();
        write_request(&mut buf, &header, Some(&[0, 255, b'\n', 7])).unwrap();
        let (h, stdin) = read_request(&mut &buf[..]).unwrap();
        assert_eq!(h, header);
        assert_eq!(stdin.unwrap(), vec![0, 255, b'\n', 7]);
    }

    #[test]
    fn response_round_trips() {
        let mut buf = Vec::new();
        write_response(&mut buf, 2, b"out\n", b"ERROR x\n").unwrap();
        let (code, out, err) = read_response(&mut &buf[..]).unwrap();
        assert_eq!(
            (code, &out[..], &err[..]),
            (2, &b"out\n"[..], &b"ERROR x\n"[..])
        );
    }

    proptest::proptest! {
        /// Any argv (unicode, newlines, quotes) and any stdin bytes arrive exactly as sent.
        #[test]
        fn any_request_and_response_round_trip(
            args in proptest::collection::vec(".*", 0..6),
            stdin in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..512)),
            out in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
            code in 0i32..3,
        ) {
            let header = RequestHeader {
                context_id: "u/0-x-1".into(),
                cwd: "/c".into(),
                tool: "relation-set".into(),
                args: args.clone(),
                stdin_len: stdin.as_ref().map(Vec::len),
            };
            let mut buf = Vec::new();
            write_request(&mut buf, &header, stdin.as_deref()).unwrap();
            let (h, got) = read_request(&mut &buf[..]).unwrap();
            proptest::prop_assert_eq!(h.args, args);
            proptest::prop_assert_eq!(got, stdin);
            let mut buf = Vec::new();
            write_response(&mut buf, code, &out, b"e").unwrap();
            let (c, o, e) = read_response(&mut &buf[..]).unwrap();
            proptest::prop_assert_eq!((c, o, e), (code, out, b"e".to_vec()));
        }
    }

    #[test]
    fn empty_stream_is_closed_error() {
        assert!(matches!(
            read_response(&mut &b""[..]),
            Err(TransportError::Closed)
        ));
    }
}
