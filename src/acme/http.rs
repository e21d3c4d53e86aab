//! instant-acme's HTTP client, through the machine's `curl` (`curl -sS -i`), instead of the
//! crate's hyper + rustls stack: that stack pushed the static charm binary from 3.4 MB to
//! 5.8 MB, over the 5 MB budget; `curl` is on every Ubuntu/Debian machine the charm runs on
//! (and HAProxy's package needs OpenSSL there anyway).
//!
//! Security: the URL is one argument after `--url` (no shell), the body goes through stdin,
//! only the request's own headers are passed (instant-acme sets `Content-Type`), and with
//! `acme_ca_certificate` set `--cacert` makes curl trust only that CA. Redirects are not
//! followed. Responses are parsed into `http::response::Parts` + body.

use bytes::Bytes;
use http_body_util::BodyExt;
use instant_acme::{BodyWrapper, BytesResponse, Error, HttpClient};
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Command, Stdio};

/// Seconds one ACME HTTP exchange may take.
const TIMEOUT_S: &str = "30";

pub struct CurlClient {
    /// `--cacert`: trust only this CA (`acme_ca_certificate`); `None` = system roots.
    pub ca_file: Option<PathBuf>,
}

fn other(message: String) -> Error {
    Error::Other(message.into())
}

impl HttpClient for CurlClient {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, Error>> + Send>> {
        let ca_file = self.ca_file.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| other(format!("request body: {e:?}")))?
                .to_bytes();
            // The hook is single-threaded: blocking here is the whole point of the runtime.
            run_curl(&parts, &body, ca_file.as_ref())
        })
    }
}

fn run_curl(
    parts: &http::request::Parts,
    body: &[u8],
    ca_file: Option<&PathBuf>,
) -> Result<BytesResponse, Error> {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "-i",
        "--http1.1",
        "--max-time",
        TIMEOUT_S,
        "--proto",
        "=https",
    ]);
    if let Some(ca) = ca_file {
        cmd.arg("--cacert").arg(ca);
    }
    match parts.method.as_str() {
        "HEAD" => {
            cmd.arg("-I");
        }
        "GET" => {}
        method => {
            cmd.args(["-X", method, "--data-binary", "@-", "-H", "Expect:"]);
        }
    }
    for (name, value) in &parts.headers {
        let value = value
            .to_str()
            .map_err(|_| other(format!("header {name} is not text")))?;
        if value.contains(['\r', '\n']) {
            return Err(other(format!("header {name} holds a line break")));
        }
        cmd.arg("-H").arg(format!("{name}: {value}"));
    }
    cmd.arg("--url").arg(parts.uri.to_string());
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| other(format!("cannot run curl: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(body)
            .map_err(|e| other(format!("curl stdin: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| other(format!("curl: {e}")))?;
    if !out.status.success() {
        return Err(other(format!(
            "curl {} {}: {}",
            parts.method,
            parts.uri,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    parse_response(&out.stdout)
}

/// `HTTP/1.1 201 Created\r\nName: value\r\n...\r\n\r\nbody`.
fn parse_response(raw: &[u8]) -> Result<BytesResponse, Error> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| other("curl printed no header block".into()))?;
    let head = std::str::from_utf8(&raw[..split])
        .map_err(|_| other("response headers are not text".into()))?;
    let body = Bytes::copy_from_slice(&raw[split + 4..]);
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| other(format!("bad status line in {head:?}")))?;
    let mut builder = http::Response::builder().status(status);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let (parts, ()) = builder
        .body(())
        .map_err(|e| other(format!("response: {e}")))?
        .into_parts();
    Ok(BytesResponse {
        parts,
        body: Box::new(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_parse_status_headers_and_body() {
        let raw = b"HTTP/1.1 201 Created\r\nReplay-Nonce: abc\r\nLocation: https://x/acct/1\r\n\r\n{\"status\": \"valid\"}";
        let r = parse_response(raw).unwrap();
        assert_eq!(r.parts.status.as_u16(), 201);
        assert_eq!(r.parts.headers["replay-nonce"], "abc");
        assert_eq!(r.parts.headers["location"], "https://x/acct/1");
    }

    #[test]
    fn a_response_without_headers_is_an_error() {
        assert!(parse_response(b"garbage").is_err());
    }
}
