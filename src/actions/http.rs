//! A minimal HTTP/1.1 client for `archive-logs` (Swift's object API): one request per
//! connection (`Connection: close`), `Content-Length` bodies, bounded by a timeout at every
//! step. `http://` goes over `std::net`; `https://` goes through the machine's `curl`, as the
//! ACME client does (`src/acme/http.rs`).
//!
//! Why not a crate: the whole job is two `PUT`s, and TLS (rustls + a crypto backend) would take
//! a large part of the static binary's size budget (`make check-static`, < 5 MB).
//!
//! Request headers (the Swift token among them) never appear in an error, a log line or a
//! process's argv: curl reads them from a pipe on fd 3 (`-H @/dev/fd/3`; argv is readable by
//! every local user in `/proc`), the body from stdin. Errors name only the method, host, port
//! and path.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("not an http:// or https:// URL: {0}")]
    BadUrl(String),
    #[error("{target} over https (curl): {detail}")]
    Curl { target: String, detail: String },
    #[error("cannot resolve or connect to {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {seconds} s {stage} {target}")]
    Timeout {
        seconds: u64,
        stage: &'static str,
        target: String,
    },
    #[error("{stage} {target}: {source}")]
    Io {
        stage: &'static str,
        target: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unreadable HTTP answer from {target}: {detail}")]
    BadResponse { target: String, detail: String },
}

/// An `http[s]://host[:port]/path` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `https://`: sent through curl.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Starts with `/`, no trailing `/` (unless it is just `/`).
    pub path: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, HttpError> {
        let lower = text.to_ascii_lowercase();
        let (tls, scheme_len) = if lower.starts_with("https://") {
            (true, "https://".len())
        } else if lower.starts_with("http://") {
            (false, "http://".len())
        } else {
            return Err(HttpError::BadUrl(crate::plan::show(text)));
        };
        let default_port = if tls { 443 } else { 80 };
        let rest = &text[scheme_len..];
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let bad = || HttpError::BadUrl(crate::plan::show(text));
        if authority.is_empty()
            || authority.contains('@')
            || path.contains(['?', '#', ' ', '\r', '\n'])
        {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => default_port,
                None => return Err(bad()),
            };
            (format!("[{host}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad())?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        let path = match path.trim_end_matches('/') {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        if host.contains(|c: char| c.is_control() || c == ' ') {
            return Err(bad());
        }
        Ok(Url {
            tls,
            host,
            port,
            path,
        })
    }

    /// The URL as text, for curl.
    fn to_url_string(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}:{}{}", self.host, self.port, self.path)
    }

    /// This URL with `segment` appended (`segment` must already be URL-safe).
    pub fn join(&self, segment: &str) -> Url {
        let mut url = self.clone();
        url.path = format!("{}/{}", self.path.trim_end_matches('/'), segment);
        url
    }

    fn target(&self) -> String {
        format!("{}:{}{}", self.host, self.port, self.path)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as one short line, for error messages.
    pub fn body_excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let line: String = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        line
    }
}

/// The largest answer we read (Swift's answers to PUT are short).
const MAX_RESPONSE: u64 = 1 << 20;

/// Send one request and read the answer, everything within `timeout`.
pub fn request(
    method: &str,
    url: &Url,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response, HttpError> {
    if url.tls {
        return request_with_curl(Path::new("curl"), method, url, headers, body, timeout);
    }
    let target = url.target();
    let deadline = Instant::now() + timeout;
    let seconds = timeout.as_secs().max(1);
    let host = url.host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = (host, url.port)
        .to_socket_addrs()
        .map_err(|source| HttpError::Connect {
            target: target.clone(),
            source,
        })?
        .collect();
    let mut last_error = None;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let mut stream = stream.ok_or_else(|| {
        let source =
            last_error.unwrap_or_else(|| std::io::Error::other("the name resolved to no address"));
        if is_timeout(&source) {
            HttpError::Timeout {
                seconds,
                stage: "connecting to",
                target: target.clone(),
            }
        } else {
            HttpError::Connect {
                target: target.clone(),
                source,
            }
        }
    })?;
    let io = |stage: &'static str, target: &str| {
        let target = target.to_owned();
        move |source: std::io::Error| {
            if is_timeout(&source) {
                HttpError::Timeout {
                    seconds,
                    stage,
                    target,
                }
            } else {
                HttpError::Io {
                    stage,
                    target,
                    source,
                }
            }
        }
    };
    let remaining = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    stream
        .set_write_timeout(Some(remaining()))
        .map_err(io("sending to", &target))?;
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nContent-Length: {}\r\nUser-Agent: haproxy-lb\r\n",
        url.path,
        url.host,
        url.port,
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .and_then(|()| stream.flush())
        .map_err(io("sending to", &target))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if Instant::now() >= deadline {
            return Err(HttpError::Timeout {
                seconds,
                stage: "waiting for an answer from",
                target,
            });
        }
        stream
            .set_read_timeout(Some(remaining()))
            .map_err(io("reading from", &target))?;
        let n = stream
            .read(&mut buf)
            .map_err(io("waiting for an answer from", &target))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() as u64 > MAX_RESPONSE {
            return Err(HttpError::BadResponse {
                target,
                detail: format!("answer longer than {MAX_RESPONSE} bytes"),
            });
        }
        // Done as soon as the answer is whole (Swift may keep the connection open a while).
        if let Ok(response) = parse_response(&raw, false) {
            return Ok(response);
        }
    }
    parse_response(&raw, true).map_err(|detail| HttpError::BadResponse { target, detail })
}

/// `https://` through curl (`curl_bin`: `curl` on the hook's PATH; tests pass a recorder).
/// curl verifies the server against the system's CA store, follows no redirect, speaks only
/// https, and gets the headers on fd 3 and the body on stdin, never in argv.
pub fn request_with_curl(
    curl_bin: &Path,
    method: &str,
    url: &Url,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response, HttpError> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    let target = url.target();
    let fail = |detail: String| HttpError::Curl {
        target: target.clone(),
        detail,
    };
    let mut header_lines = String::new();
    for (name, value) in headers {
        if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
            return Err(fail(format!("header {name} holds a line break")));
        }
        header_lines.push_str(&format!("{name}: {value}\n"));
    }
    // No `Expect: 100-continue` round trip (Swift answers the PUT directly).
    header_lines.push_str("Expect:\n");
    let (read_end, write_end) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| fail(format!("pipe: {e}")))?;
    // A few header lines fit the pipe's buffer: write them all before curl starts.
    std::fs::File::from(write_end)
        .write_all(header_lines.as_bytes())
        .map_err(|e| fail(format!("writing headers: {e}")))?;
    let fd = read_end.as_raw_fd();
    let seconds = timeout.as_secs().max(1).to_string();
    let mut cmd = Command::new(curl_bin);
    cmd.args(["-sS", "-i", "--http1.1", "--proto", "=https", "--max-time"])
        .arg(&seconds)
        .args([
            "-X",
            method,
            "--data-binary",
            "@-",
            "-H",
            "@/dev/fd/3",
            "--url",
        ])
        .arg(url.to_url_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls (dup2, fcntl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if fd == 3 {
                // dup2 onto itself keeps O_CLOEXEC: clear it instead.
                if nix::libc::fcntl(3, nix::libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if nix::libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot run {}: {e}", curl_bin.display())))?;
    drop(read_end);
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(body)
            .map_err(|e| fail(format!("sending the body: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("waiting for curl: {e}")))?;
    match out.status.code() {
        Some(0) => {}
        // curl's "operation timed out".
        Some(28) => {
            return Err(HttpError::Timeout {
                seconds: timeout.as_secs().max(1),
                stage: "waiting for an answer from",
                target,
            })
        }
        _ => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let line: String = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
            return Err(fail(line.chars().take(200).collect()));
        }
    }
    // With `-i`, a `100 Continue` interim answer may precede the real one.
    let mut raw: &[u8] = &out.stdout;
    while raw.starts_with(b"HTTP/1.1 100") || raw.starts_with(b"HTTP/1.0 100") {
        match raw.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) => raw = &raw[end + 4..],
            None => break,
        }
    }
    parse_response(raw, true).map_err(|detail| HttpError::BadResponse { target, detail })
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

/// Parse an answer; `Err` while it is incomplete. `at_eof` accepts a body delimited by the
/// end of the connection.
fn parse_response(raw: &[u8], at_eof: bool) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "headers are not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("empty answer")?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(format!("status line {}", crate::plan::show(status_line)));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("status line {}", crate::plan::show(status_line)))?;
    let reason = parts.next().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let find = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let body = if status / 100 == 1 || status == 204 || status == 304 {
        Vec::new()
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(rest).ok_or("unfinished chunked body")?
    } else if let Some(length) = find("content-length") {
        let length: usize = length.parse().map_err(|_| "bad Content-Length")?;
        if rest.len() < length {
            return Err("short body".into());
        }
        rest[..length].to_vec()
    } else if at_eof {
        rest.to_vec()
    } else {
        return Err("body until end of connection".into());
    };
    Ok(Response {
        status,
        reason,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_host_port_and_path() {
        let url = Url::parse("http://127.0.6.1:55080/v1/AUTH_test/").unwrap();
        assert_eq!(url.host, "127.0.6.1");
        assert_eq!(url.port, 55080);
        assert_eq!(url.path, "/v1/AUTH_test");
        assert_eq!(url.join("logs").path, "/v1/AUTH_test/logs");
        let url = Url::parse("http://[::1]/v1").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("[::1]", 80));
    }

    #[test]
    fn https_urls_default_to_443() {
        let url = Url::parse("https://swift.example/v1/AUTH_x").unwrap();
        assert_eq!(
            (url.tls, url.host.as_str(), url.port, url.path.as_str()),
            (true, "swift.example", 443, "/v1/AUTH_x")
        );
        assert_eq!(url.to_url_string(), "https://swift.example:443/v1/AUTH_x");
    }

    /// A `curl` that records its argv, fd 3 and stdin, then answers like Swift.
    fn recording_curl(dir: &Path) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let bin = dir.join("curl");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{d}/argv'\ncat /dev/fd/3 > '{d}/headers'\ncat > '{d}/body'\nprintf 'HTTP/1.1 100 Continue\\r\\n\\r\\nHTTP/1.1 201 Created\\r\\nEtag: abc\\r\\nContent-Length: 0\\r\\n\\r\\n'\n",
            d = dir.display()
        );
        std::fs::write(&bin, script).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    #[test]
    fn https_goes_through_curl_with_the_token_never_in_argv() {
        let dir = tempfile::tempdir().unwrap();
        let curl = recording_curl(dir.path());
        let url = Url::parse("https://swift.example/v1/AUTH_x/logs/a.gz").unwrap();
        let answer = request_with_curl(
            &curl,
            "PUT",
            &url,
            &[("X-Auth-Token", "AUTH_tk_secret"), ("ETag", "abc")],
            b"gzip bytes",
            Duration::from_secs(7),
        )
        .unwrap();
        assert_eq!((answer.status, answer.header("etag")), (201, Some("abc")));
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
        let argv = read("argv");
        assert!(!argv.contains("AUTH_tk_secret"), "{argv}");
        assert_eq!(
            argv.lines().collect::<Vec<_>>(),
            [
                "-sS",
                "-i",
                "--http1.1",
                "--proto",
                "=https",
                "--max-time",
                "7",
                "-X",
                "PUT",
                "--data-binary",
                "@-",
                "-H",
                "@/dev/fd/3",
                "--url",
                "https://swift.example:443/v1/AUTH_x/logs/a.gz"
            ]
        );
        assert_eq!(
            read("headers"),
            "X-Auth-Token: AUTH_tk_secret\nETag: abc\nExpect:\n"
        );
        assert_eq!(read("body"), "gzip bytes");
    }

    #[test]
    fn a_curl_failure_is_an_error_without_headers() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("curl");
        std::fs::write(
            &bin,
            "#!/bin/sh\necho 'curl: (60) SSL certificate problem' >&2\nexit 60\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let url = Url::parse("https://swift.example/v1/AUTH_x").unwrap();
        let err = request_with_curl(
            &bin,
            "PUT",
            &url,
            &[("X-Auth-Token", "tk")],
            b"",
            Duration::from_secs(1),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("SSL certificate problem"), "{err}");
        assert!(!err.contains("tk"), "{err}");
    }

    #[test]
    fn hostile_urls_are_refused() {
        for bad in [
            "ftp://x/",
            "http://",
            "http://user:pw@host/v1",
            "http://host:0/",
            "http://host:99999/",
            "http://host/a b",
            "http://host/a\r\nX: y",
            "http://host/a?b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_parse_with_length_chunked_and_eof_bodies() {
        let r = parse_response(
            b"HTTP/1.1 201 Created\r\nEtag: abc\r\nContent-Length: 2\r\n\r\nok",
            false,
        )
        .unwrap();
        assert_eq!(
            (r.status, r.header("etag"), r.body.as_slice()),
            (201, Some("abc"), &b"ok"[..])
        );
        let r = parse_response(
            b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(r.body, b"hello");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n\r\nrest", false).is_err());
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\n\r\nrest", true)
                .unwrap()
                .body,
            b"rest"
        );
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", false).is_err());
    }
}
