//! `archive-logs` against a real OpenStack Swift from Debian's packages, started on loopback by
//! the test: proxy, account, container and object servers with one-replica rings built by
//! `swift-ring-builder` in a temp dir, `tempauth` (user `test:tester`), `mount_check = false`,
//! storage in the temp dir, memcached for tempauth's tokens. Swift reads
//! `/etc/swift/swift.conf` whatever its config says, so each server runs in its own mount
//! namespace with the temp dir bound over `/etc/swift` (the machine's `/etc/swift` is never
//! touched). Also the failure paths: 401, 404, timeout, https, a wrong type, a wrong ETag.
//!
//! Addresses 127.0.6.2-4, ports 55000-55099 and 55801-55811 (this branch's range). Everything
//! started is killed on drop.

mod actions_support;
mod support;
mod util;

use actions_support::{get, ip, services_option, Unit};
use haproxy_lb::actions::http::{self, Url};
use serde_json::json;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use util::PyBackend;

const SWIFT_IP: &str = "127.0.6.2";
const PROXY_PORT: u16 = 55080;
const MEMCACHED_PORT: u16 = 55011;
/// (server, port) of the storage servers.
const STORAGE: [(&str, u16); 3] = [("account", 55002), ("container", 55001), ("object", 55000)];

struct Swift {
    dir: tempfile::TempDir,
    children: Vec<(String, Child)>,
}

fn run(program: &str, args: &[&str], cwd: &Path) {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (make deps): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Swift {
    fn start() -> Swift {
        for bin in [
            "/usr/bin/swift-proxy-server",
            "/usr/bin/swift-account-server",
            "/usr/bin/swift-container-server",
            "/usr/bin/swift-object-server",
            "/usr/bin/swift-ring-builder",
            "/usr/bin/memcached",
        ] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: `make deps` installs swift-proxy swift-account swift-container swift-object memcached"
            );
        }
        assert!(
            Path::new("/etc/swift").is_dir(),
            "/etc/swift (from the swift package) is the mount point for the test's config"
        );
        let dir = tempfile::Builder::new()
            .prefix("swift-test")
            .tempdir()
            .unwrap();
        let etc = dir.path().join("etc");
        let devices = dir.path().join("srv");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::create_dir_all(devices.join("d1")).unwrap();
        std::fs::write(
            etc.join("swift.conf"),
            "[swift-hash]\nswift_hash_path_suffix = haproxylbtest\nswift_hash_path_prefix = haproxylbtest\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n",
        )
        .unwrap();
        // Logs to a UDP port nobody reads in our range, not to syslog.
        let common = format!(
            "[DEFAULT]\nbind_ip = {SWIFT_IP}\nworkers = 0\nswift_dir = /etc/swift\nlog_udp_host = {SWIFT_IP}\nlog_udp_port = 55099\n"
        );
        for (server, port) in STORAGE {
            let builder = format!("{server}.builder");
            run(
                "swift-ring-builder",
                &[&builder, "create", "4", "1", "1"],
                &etc,
            );
            let device = format!("r1z1-{SWIFT_IP}:{port}/d1");
            run(
                "swift-ring-builder",
                &[&builder, "add", &device, "100"],
                &etc,
            );
            run("swift-ring-builder", &[&builder, "rebalance"], &etc);
            std::fs::write(
                etc.join(format!("{server}-server.conf")),
                format!(
                    "{common}bind_port = {port}\ndevices = {}\nmount_check = false\n\n[pipeline:main]\npipeline = {server}-server\n\n[app:{server}-server]\nuse = egg:swift#{server}\n",
                    devices.display()
                ),
            )
            .unwrap();
        }
        std::fs::write(
            etc.join("proxy-server.conf"),
            format!(
                "{common}bind_port = {PROXY_PORT}\n\n[pipeline:main]\npipeline = catch_errors cache tempauth proxy-server\n\n[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n\n[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = testing .admin\n\n[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = {SWIFT_IP}:{MEMCACHED_PORT}\n\n[filter:catch_errors]\nuse = egg:swift#catch_errors\n"
            ),
        )
        .unwrap();
        let mut swift = Swift {
            dir,
            children: Vec::new(),
        };
        let memcached = Command::new("memcached")
            .args([
                "-l",
                SWIFT_IP,
                "-p",
                &MEMCACHED_PORT.to_string(),
                "-U",
                "0",
                "-u",
                "nobody",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        swift.children.push(("memcached".into(), memcached));
        for server in ["account", "container", "object", "proxy"] {
            let log =
                std::fs::File::create(swift.dir.path().join(format!("{server}.log"))).unwrap();
            // unshare execs sh, which execs the server: the child's PID is the server's.
            let child = Command::new("unshare")
                .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
                .arg(r#"mount --bind "$1" /etc/swift && exec "$2" "$3""#)
                .arg("sh")
                .arg(&etc)
                .arg(format!("/usr/bin/swift-{server}-server"))
                .arg(format!("/etc/swift/{server}-server.conf"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            swift.children.push((server.into(), child));
        }
        // Python servers start slowly on a busy machine: wait (bounded) for auth to answer.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if swift.auth().is_ok() {
                return swift;
            }
            let exited =
                swift
                    .children
                    .iter_mut()
                    .find_map(|(name, child)| match child.try_wait() {
                        Ok(Some(status)) => Some(format!("{name} exited with {status}")),
                        _ => None,
                    });
            if let Some(exited) = exited {
                panic!("{exited}: {}", swift.logs());
            }
            assert!(
                Instant::now() < deadline,
                "swift did not answer within 120 s: {}",
                swift.logs()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn logs(&self) -> String {
        ["account", "container", "object", "proxy"]
            .iter()
            .map(|s| {
                format!(
                    "\n== {s}\n{}",
                    std::fs::read_to_string(self.dir.path().join(format!("{s}.log")))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    /// `(token, storage URL)` from tempauth.
    fn auth(&self) -> Result<(String, String), String> {
        let url = Url::parse(&format!("http://{SWIFT_IP}:{PROXY_PORT}/auth/v1.0")).unwrap();
        let answer = http::request(
            "GET",
            &url,
            &[("X-Auth-User", "test:tester"), ("X-Auth-Key", "testing")],
            b"",
            Duration::from_secs(5),
        )
        .map_err(|e| e.to_string())?;
        if answer.status != 200 {
            return Err(format!("auth answered {}", answer.status));
        }
        Ok((
            answer.header("x-auth-token").unwrap().to_owned(),
            answer.header("x-storage-url").unwrap().to_owned(),
        ))
    }

    fn get(&self, token: &str, storage: &str, object: &str) -> http::Response {
        let url = Url::parse(storage).unwrap().join(object);
        http::request(
            "GET",
            &url,
            &[("X-Auth-Token", token)],
            b"",
            Duration::from_secs(10),
        )
        .unwrap()
    }
}

impl Drop for Swift {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn assert_no_token(unit: &Unit, token: &str) {
    for line in unit.recorder.lines() {
        assert!(!line.contains(token), "the token leaked: {line}");
    }
}

#[test]
fn archive_logs_uploads_gzipped_lines_to_a_real_swift_and_reports_its_failures() {
    let _web = PyBackend::start("web-0", ip(81), 55811);
    let unit = Unit::new(&services_option(55801, &[("web-0", 81, 55811)]));
    unit.hook();
    let front = SocketAddr::new(ip(10), 55801);
    for _ in 0..5 {
        assert_eq!(get(front).as_deref(), Ok("web-0"));
    }
    let swift = Swift::start();
    let (token, storage) = swift.auth().unwrap();
    assert_eq!(
        storage,
        format!("http://{SWIFT_IP}:{PROXY_PORT}/v1/AUTH_test")
    );

    // The log file has the requests (`log stdout`, haproxy.md §7) before the action runs.
    let logged: Vec<String> = unit
        .log()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    assert!(
        logged
            .iter()
            .filter(|l| l.contains("\"GET / HTTP/1.1\""))
            .count()
            >= 5,
        "{logged:?}"
    );

    let results = unit
        .action(
            "archive-logs",
            json!({"endpoint": storage, "token": token, "basepath": "haproxy-logs"}),
        )
        .results();
    assert_no_token(&unit, &token);
    eprintln!("archive-logs results: {results:#?}");
    let object = &results["object"];
    assert!(
        regex::Regex::new(r"^haproxy-logs/haproxy-lb-0/haproxy-\d{8}T\d{6}Z\.log\.gz$")
            .unwrap()
            .is_match(object),
        "{object}"
    );
    assert_eq!(results["etag-verified"], "true");
    let stored = swift.get(&token, &storage, object);
    assert_eq!(stored.status, 200, "{}", stored.body_excerpt());
    assert_eq!(stored.body.len().to_string(), results["bytes"]);
    assert_eq!(stored.header("etag"), Some(results["md5"].as_str()));
    let text = gunzip(&stored.body);
    let archived: Vec<&str> = text.lines().collect();
    assert_eq!(archived.len().to_string(), results["lines"]);
    for line in &logged {
        assert!(
            archived.contains(&line.as_str()),
            "missing from the archive: {line}"
        );
    }

    // Only one service's lines.
    let results = unit
        .action(
            "archive-logs",
            json!({"endpoint": storage, "token": token, "basepath": "haproxy-logs", "service": "web"}),
        )
        .results();
    let text = gunzip(&swift.get(&token, &storage, &results["object"]).body);
    assert!(!text.is_empty());
    assert!(text.lines().all(|l| l.contains("web")), "{text}");
    let message = unit
        .action(
            "archive-logs",
            json!({"endpoint": storage, "token": token, "basepath": "haproxy-logs", "service": "nope"}),
        )
        .failure();
    assert_eq!(
        message,
        "unknown service 'nope': this unit serves web; nothing was uploaded"
    );

    // 401: a wrong token; neither token shows anywhere.
    let wrong = "AUTH_tk00000000000000000000000000000bad";
    let message = unit
        .action(
            "archive-logs",
            json!({"endpoint": storage, "token": wrong, "basepath": "haproxy-logs"}),
        )
        .failure();
    eprintln!("archive-logs with a wrong token: {message}");
    assert!(
        message.starts_with("creating container haproxy-logs: Swift answered 401 Unauthorized"),
        "{message}"
    );
    assert!(message.ends_with("nothing was uploaded"), "{message}");
    assert_no_token(&unit, wrong);
    assert_no_token(&unit, &token);

    // 404: the endpoint names a container that does not exist, not the account.
    let message = unit
        .action(
            "archive-logs",
            json!({"endpoint": format!("{storage}/no-such-container"), "token": token, "basepath": "haproxy-logs"}),
        )
        .failure();
    assert!(
        message.starts_with("creating container haproxy-logs: Swift answered 404 Not Found"),
        "{message}"
    );
    drop(swift);
}

/// A server on `addr` that accepts and answers with `answer` (or never, when `None`); counts
/// the connections it accepted.
fn fake_swift(
    addr: SocketAddr,
    answer: Option<&'static str>,
) -> (std::sync::Arc<std::sync::atomic::AtomicUsize>, TcpListener) {
    let listener = TcpListener::bind(addr).unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    let server = listener.try_clone().unwrap();
    std::thread::spawn(move || {
        for conn in server.incoming().take(4) {
            let Ok(mut conn) = conn else { return };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
            let mut buf = [0u8; 65536];
            let _ = conn.read(&mut buf);
            match answer {
                Some(text) => {
                    let _ = conn.write_all(text.as_bytes());
                }
                None => std::thread::sleep(Duration::from_secs(5)),
            }
        }
    });
    (accepted, listener)
}

#[test]
fn archive_logs_fails_before_any_network_call_on_bad_parameters() {
    let unit = Unit::new(&services_option(55802, &[("web-0", 82, 55812)]));
    let addr = SocketAddr::new(ip(3), 55090);
    let (accepted, _listener) = fake_swift(
        addr,
        Some("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
    );
    let endpoint = format!("http://{addr}/v1/AUTH_test");
    let cases = [
        (
            json!({"object-store-type": "s3", "endpoint": endpoint, "token": "t", "basepath": "logs"}),
            "object-store-type 's3' is not supported (only \"swift\"); nothing was uploaded",
        ),
        (
            json!({"endpoint": "https://swift.example/v1/AUTH_x", "token": "t", "basepath": "logs"}),
            "endpoint: https endpoints are not supported",
        ),
        (
            json!({"endpoint": endpoint, "token": "t", "basepath": "a/b"}),
            "basepath 'a/b' is not a Swift container name",
        ),
        (
            json!({"endpoint": endpoint, "token": "t"}),
            "missing field `basepath`",
        ),
        (
            json!({"endpoint": endpoint, "token": "t", "basepath": "logs", "region": "x"}),
            "unknown field `region`",
        ),
    ];
    for (params, expected) in cases {
        let message = unit.action("archive-logs", params.clone()).failure();
        assert!(message.contains(expected), "{params}: {message}");
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn archive_logs_fails_on_a_timeout_and_on_a_wrong_etag() {
    let unit = Unit::new(&services_option(55803, &[("web-0", 83, 55813)]));
    std::fs::create_dir_all(unit.settings.haproxy.log_file.parent().unwrap()).unwrap();
    std::fs::write(&unit.settings.haproxy.log_file, "a log line\n").unwrap();

    let silent = SocketAddr::new(ip(3), 55091);
    let (_accepted, _l1) = fake_swift(silent, None);
    let started = Instant::now();
    let message = unit
        .action(
            "archive-logs",
            json!({"endpoint": format!("http://{silent}/v1/AUTH_test"), "token": "AUTH_tk_secret_1", "basepath": "logs", "timeout": 1}),
        )
        .failure();
    // The silent server never answers: returning at all proves the timeout. The bound is loose
    // on purpose (a loaded CI machine), far below "waits forever".
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        message.starts_with("creating container logs: timed out after 1 s waiting for an answer from 127.0.6.3:55091/v1/AUTH_test/logs"),
        "{message}"
    );
    assert_no_token(&unit, "AUTH_tk_secret_1");

    // Swift stores something else than what was sent: the ETag it answers differs.
    let liar = SocketAddr::new(ip(4), 55092);
    let (accepted, _l2) = fake_swift(
        liar,
        Some("HTTP/1.1 201 Created\r\nEtag: 0123456789abcdef0123456789abcdef\r\nContent-Length: 0\r\n\r\n"),
    );
    let message = unit
        .action(
            "archive-logs",
            json!({"endpoint": format!("http://{liar}/v1/AUTH_test"), "token": "AUTH_tk_secret_2", "basepath": "logs"}),
        )
        .failure();
    assert!(
        message.contains("Swift answered ETag '0123456789abcdef0123456789abcdef' for our MD5"),
        "{message}"
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_no_token(&unit, "AUTH_tk_secret_2");
}
