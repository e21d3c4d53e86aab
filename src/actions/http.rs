//! A minimal HTTP/1.1 client over `std::net` for `archive-logs` (Swift's object API): one
//! request per connection (`Connection: close`), `Content-Length` bodies, bounded by a timeout
//! at every step, `http://` only.
//!
//! Why not a crate: the whole job is two `PUT`s, and TLS (rustls + a crypto backend) would take
//! a large part of the static binary's size budget (`make check-static`, < 5 MB). An `https://`
//! endpoint is refused with a clear error before any connection is made.
//!
//! Request headers (the Swift token among them) never appear in an error or a log line: errors
//! name only the method, host, port and path.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("https endpoints are not supported: this charm's built-in HTTP client has no TLS (binary size budget); use an http:// endpoint (e.g. a TLS-terminating proxy on the Swift side)")]
    TlsUnsupported,
    #[error("not an http:// URL: {0}")]
    BadUrl(String),
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

/// An `http://host[:port]/path` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Starts with `/`, no trailing `/` (unless it is just `/`).
    pub path: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, HttpError> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Err(HttpError::TlsUnsupported);
        }
        let rest = text
            .strip_prefix("http://")
            .or_else(|| {
                lower
                    .starts_with("http://")
                    .then(|| &text["http://".len()..])
            })
            .ok_or_else(|| HttpError::BadUrl(crate::plan::show(text)))?;
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
                None if after.is_empty() => 80,
                None => return Err(bad()),
            };
            (format!("[{host}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad())?),
                None => (authority.to_owned(), 80),
            }
        };
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        let path = match path.trim_end_matches('/') {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        Ok(Url { host, port, path })
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
    fn https_is_refused_with_a_clear_reason() {
        let err = Url::parse("https://swift.example/v1/AUTH_x").unwrap_err();
        assert!(matches!(err, HttpError::TlsUnsupported));
        assert!(err
            .to_string()
            .contains("https endpoints are not supported"));
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
