//! `archive-logs` (`spec/actions.md`, the worker's ARCHIVE): gather HAProxy's log lines, gzip
//! them and upload them to Swift with an MD5 `ETag`, so Swift verifies the bytes, and check the
//! `ETag` it answers.
//!
//! Where the lines are (`spec/haproxy.md` §7): without systemd the master's stdout file
//! (`Paths.log_file`: `log stdout` lines and the master's NOTICE/ALERT lines), with systemd the
//! journal (`journalctl -u haproxy`); plus the `recent` ring (`show events recent`), whose
//! lines already in the file are left out (the ring repeats what `log stdout` wrote, and is
//! emptied at each reload, so it only adds something when the file lost lines).
//!
//! The token is sent as `X-Auth-Token` and nowhere else: never logged, never in a result, and
//! removed from any error text (a server could echo it).

use super::http::{self, Url};
use super::{result, ActionEnv, Failure, Results};
use crate::reconcile::served;
use flate2::{write::GzEncoder, Compression};
use md5::{Digest, Md5};
use serde::Deserialize;
use std::io::Write;
use std::process::Command;
use std::time::{Duration, SystemTime};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    #[serde(default = "default_store")]
    pub object_store_type: String,
    pub endpoint: String,
    pub token: String,
    pub basepath: String,
    #[serde(default)]
    pub service: Option<String>,
    /// Seconds for each request (connect + send + answer).
    #[serde(default = "default_timeout")]
    pub timeout: u64,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Params")
            .field("object_store_type", &self.object_store_type)
            .field("endpoint", &self.endpoint)
            .field("token", &"<redacted>")
            .field("basepath", &self.basepath)
            .field("service", &self.service)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn default_store() -> String {
    "swift".into()
}

fn default_timeout() -> u64 {
    60
}

const NOT_DONE: &str = "nothing was uploaded";

pub fn archive_logs(env: &ActionEnv, params: Params) -> Result<Results, Failure> {
    // Everything that can be checked is checked before any network call.
    if params.object_store_type != "swift" {
        return Err(Failure::new(format!(
            "object-store-type {} is not supported (only \"swift\"); {NOT_DONE}",
            crate::plan::show(&params.object_store_type)
        )));
    }
    let endpoint = Url::parse(&params.endpoint)
        .map_err(|e| Failure::new(format!("endpoint: {e}; {NOT_DONE}")))?;
    if !is_container_name(&params.basepath) {
        return Err(Failure::new(format!(
            "basepath {} is not a Swift container name (letters, digits, '.', '_', '-'; at most 256); {NOT_DONE}",
            crate::plan::show(&params.basepath)
        )));
    }
    if params.token.is_empty() || params.token.contains(['\r', '\n']) {
        return Err(Failure::new(format!(
            "token must be one non-empty line; {NOT_DONE}"
        )));
    }
    if !(1..=600).contains(&params.timeout) {
        return Err(Failure::new(format!(
            "timeout must be 1-600 seconds, not {}; {NOT_DONE}",
            params.timeout
        )));
    }
    let names = match &params.service {
        Some(service) => Some(service_proxies(env, service)?),
        None => None,
    };

    let mut lines = gather_lines(env)?;
    if let Some(names) = &names {
        lines.retain(|line| mentions_any(line, names));
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    let gz = gzip(text.as_bytes())
        .map_err(|e| Failure::new(format!("cannot gzip the log lines: {e}; {NOT_DONE}")))?;
    let md5 = super::show_config::hex(&Md5::digest(&gz));
    let object = format!(
        "{}-{}/haproxy-{}.log.gz",
        env.ctx.unit.app(),
        env.ctx.unit.number(),
        utc_timestamp(SystemTime::now())
    );
    progress(
        env,
        &format!(
            "uploading {} lines ({} bytes gzipped) to {}/{}",
            lines.len(),
            gz.len(),
            params.basepath,
            object
        ),
    );
    let timeout = Duration::from_secs(params.timeout);
    let token = params.token.as_str();
    let redact = |text: String| text.replace(token, "<redacted>");

    let container = endpoint.join(&params.basepath);
    let answer = http::request("PUT", &container, &[("X-Auth-Token", token)], b"", timeout)
        .map_err(|e| {
            Failure::new(redact(format!(
                "creating container {}: {}; {NOT_DONE}",
                params.basepath, e
            )))
        })?;
    if !matches!(answer.status, 201 | 202 | 204) {
        return Err(Failure::new(redact(format!(
            "creating container {}: Swift answered {} {}: {}; {NOT_DONE}",
            params.basepath,
            answer.status,
            answer.reason,
            answer.body_excerpt()
        ))));
    }
    let answer = http::request(
        "PUT",
        &container.join(&object),
        &[
            ("X-Auth-Token", token),
            ("ETag", &md5),
            ("Content-Type", "application/gzip"),
        ],
        &gz,
        timeout,
    )
    .map_err(|e| {
        Failure::new(redact(format!(
            "uploading {object}: {}; the container exists, the object was not stored",
            e
        )))
    })?;
    if answer.status != 201 {
        return Err(Failure::new(redact(format!(
            "uploading {object}: Swift answered {} {}: {}; the object was not stored",
            answer.status,
            answer.reason,
            answer.body_excerpt()
        ))));
    }
    let etag = answer
        .header("etag")
        .unwrap_or("")
        .trim_matches('"')
        .to_ascii_lowercase();
    if etag != md5 {
        return Err(Failure::new(format!(
            "uploading {object}: Swift answered ETag {} for our MD5 {md5}: the stored object may not be what was sent",
            crate::plan::show(&etag)
        )));
    }
    let mut results = Results::new();
    result(
        &mut results,
        "object",
        format!("{}/{object}", params.basepath),
    );
    result(&mut results, "bytes", gz.len());
    result(&mut results, "lines", lines.len());
    result(&mut results, "md5", md5);
    result(&mut results, "etag-verified", true);
    Ok(results)
}

fn progress(env: &ActionEnv, message: &str) {
    if let Err(e) = env.tools.action_log(message) {
        tracing::warn!(error = %e, "action-log failed");
    }
}

/// Swift container names: no `/`; we also keep to a URL-safe set so no encoding is needed.
fn is_container_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name != "."
        && name != ".."
}

/// The frontends and backends of a served service, for filtering its lines.
fn service_proxies(env: &ActionEnv, service: &str) -> Result<Vec<String>, Failure> {
    let endpoints = served::load(&env.settings.state_dir).unwrap_or_default();
    let mut names: Vec<String> = endpoints
        .iter()
        .filter(|e| e.service == service)
        .flat_map(|e| std::iter::once(e.frontend.clone()).chain(e.backends.iter().cloned()))
        .collect();
    if names.is_empty() {
        let mut known: Vec<&str> = endpoints.iter().map(|e| e.service.as_str()).collect();
        known.sort();
        known.dedup();
        return Err(Failure::new(format!(
            "unknown service {}: this unit serves {}; {NOT_DONE}",
            crate::plan::show(service),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// A line belongs to a proxy when one of its words (split at spaces and `/`) is its name:
/// `fe_web be_web/web-0 ...` in `httplog`, `Proxy fe_web started.` in notices.
fn mentions_any(line: &str, names: &[String]) -> bool {
    line.split(|c: char| c.is_whitespace() || c == '/' || c == '\'' || c == '"')
        .any(|word| names.iter().any(|n| n == word))
}

fn gather_lines(env: &ActionEnv) -> Result<Vec<String>, Failure> {
    let paths = &env.settings.haproxy;
    let mut lines: Vec<String> = if paths.systemd_present() {
        let output = Command::new("journalctl")
            .args(["-u", "haproxy", "-o", "cat", "--no-pager"])
            .output()
            .map_err(|e| Failure::new(format!("cannot run journalctl: {e}; {NOT_DONE}")))?;
        if !output.status.success() {
            return Err(Failure::new(format!(
                "journalctl -u haproxy failed ({}): {}; {NOT_DONE}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    } else {
        match std::fs::read(&paths.log_file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_owned)
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(Failure::new(format!(
                    "cannot read {}: {e}; {NOT_DONE}",
                    paths.log_file.display()
                )))
            }
        }
    };
    lines.retain(|l| !l.trim().is_empty());
    // HAProxy not running: the file is all there is.
    if let Ok(events) = crate::haproxy::runtime::socket_command(
        &paths.admin_socket,
        "show events recent",
        Duration::from_secs(5),
    ) {
        add_ring_lines(&mut lines, &events);
    }
    Ok(lines)
}

/// Append the ring's lines whose message is not already in `lines` (`log stdout` and the ring
/// get the same message; the ring only adds what the file lost).
fn add_ring_lines(lines: &mut Vec<String>, events: &str) {
    let seen: std::collections::HashSet<String> = lines.iter().cloned().collect();
    for event in events.lines().filter(|l| !l.trim().is_empty()) {
        if !seen.contains(ring_message(event)) {
            lines.push(event.to_owned());
        }
    }
}

/// The message of an RFC 5424 ring line (`<pri>1 ts host app pid msgid sd msg`); the line
/// itself when it is not one.
fn ring_message(line: &str) -> &str {
    if !line.starts_with('<') {
        return line;
    }
    line.splitn(8, ' ').nth(7).unwrap_or(line)
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
pub fn utc_timestamp(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_and_sortable() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_441_028);
        assert_eq!(utc_timestamp(at), "20261123T133708Z");
        assert_eq!(utc_timestamp(SystemTime::UNIX_EPOCH), "19700101T000000Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_timestamp(leap), "20000229T000000Z");
    }

    #[test]
    fn container_names_are_url_safe() {
        assert!(is_container_name("haproxy-logs_2026.11"));
        for bad in ["", "a/b", "a b", "..", "a?b", "a%2f", &"x".repeat(257)] {
            assert!(!is_container_name(bad), "{bad}");
        }
    }

    #[test]
    fn ring_lines_yield_their_message() {
        let ring = "<134>1 2026-11-23T13:37:08.590779+00:00 host haproxy 123 - - 127.0.0.1:46812 [23/Nov/2026:13:37:08.590] fe_log fe_log/<NOSRV> 0/-1/-1/-1/0 200 74 - - LR-- 1/1/0/0/0 0/0 \"GET /hello HTTP/1.1\"";
        assert!(ring_message(ring).starts_with("127.0.0.1:46812 [23/Nov"));
        assert_eq!(ring_message("plain"), "plain");
    }

    #[test]
    fn ring_lines_already_in_the_file_are_not_repeated() {
        let mut lines = vec!["127.0.0.1:1 [x] fe be/s 200 \"GET / HTTP/1.1\"".to_owned()];
        let events = concat!(
            "<134>1 2026-11-23T13:37:08+00:00 h haproxy 1 - - 127.0.0.1:1 [x] fe be/s 200 \"GET / HTTP/1.1\"\n",
            "<134>1 2026-11-23T13:37:09+00:00 h haproxy 1 - - 127.0.0.1:2 [y] fe be/s 503 \"GET /x HTTP/1.1\"\n\n"
        );
        add_ring_lines(&mut lines, events);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[1].ends_with("503 \"GET /x HTTP/1.1\""));
    }

    #[test]
    fn service_lines_are_matched_by_proxy_name_as_a_word() {
        let names = vec!["fe_web".to_owned(), "be_web".to_owned()];
        assert!(mentions_any(
            "1.2.3.4:5 [x] fe_web be_web/web-0 0/0/0/1/1 200",
            &names
        ));
        assert!(mentions_any(
            "[NOTICE]   (1) : Proxy be_web started.",
            &names
        ));
        assert!(!mentions_any("1.2.3.4:5 [x] fe_web2 be_web2/web-0", &names));
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let params: Params = serde_json::from_value(serde_json::json!({
            "endpoint": "http://127.0.0.1/v1/AUTH_x", "token": "AUTH_tk_secret", "basepath": "logs"
        }))
        .unwrap();
        assert!(!format!("{params:?}").contains("AUTH_tk_secret"));
        assert_eq!(params.object_store_type, "swift");
    }
}
