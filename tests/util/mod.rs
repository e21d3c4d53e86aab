//! Shared helpers for the engine's integration tests: plan fixtures, a HAProxy run from a temp
//! dir (stopped on drop), Python/Rust backends on 127.0.2.x (killed on drop), a tiny HTTP
//! client. Every address is in 127.0.2.0/24 and every port in 20000-29999 (this branch's range).
#![allow(dead_code)]

use haproxy_lb::haproxy::{Paths, ReloadPolicy, Service};
use haproxy_lb::plan::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 2, last])
}

pub fn name(text: &str) -> ProxyName {
    ProxyName::new(text).unwrap()
}

pub fn port(p: u16) -> Port {
    Port::new(p).unwrap()
}

pub fn server(n: &str, host: IpAddr, p: u16) -> Server {
    Server {
        name: ServerName::new(n).unwrap(),
        host: Host::Ip(host),
        port: port(p),
        weight: None,
        check: true,
        options: vec![],
    }
}

pub fn health(path: Option<&str>, interval_s: u32) -> HealthCheck {
    HealthCheck {
        path: path.map(|p| HttpPath::new(p).unwrap()),
        interval_s,
        fall: 2,
        rise: 1,
        probes: Vec::new(),
    }
}

/// One frontend + one backend, as a service request would give them.
pub fn service(
    id: &str,
    mode: Mode,
    bind: (IpAddr, u16),
    servers: Vec<Server>,
) -> (Frontend, Backend) {
    let fe = Frontend {
        name: name(&format!("fe_{id}")),
        bind: Bind {
            host: Some(bind.0),
            port: port(bind.1),
        },
        mode,
        tls: None,
        directives: vec![],
        routes: vec![],
        default_backend: Some(name(&format!("be_{id}"))),
    };
    let be = Backend {
        name: name(&format!("be_{id}")),
        mode,
        balance: Some(Balance::RoundRobin),
        stickiness: None,
        health_check: Some(health(if mode == Mode::Http { Some("/") } else { None }, 1)),
        directives: vec![],
        errorfiles: vec![],
        servers,
    };
    (fe, be)
}

pub fn plan(services: Vec<(Frontend, Backend)>) -> LoadBalancerPlan {
    let (frontends, backends) = services.into_iter().unzip();
    LoadBalancerPlan {
        global: GlobalSettings {
            timeouts: vec![
                (TimeoutName::Connect, TimeValue::new("2s").unwrap()),
                (TimeoutName::Client, TimeValue::new("30s").unwrap()),
                (TimeoutName::Server, TimeValue::new("30s").unwrap()),
            ],
            ..GlobalSettings::default()
        },
        frontends,
        backends,
        userlists: vec![],
        stats: None,
        services: vec![],
    }
}

/// A HAProxy layout in a temp dir; stops HAProxy when dropped.
pub struct Haproxy {
    pub dir: tempfile::TempDir,
    pub service: Service,
}

impl Haproxy {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("engine-test")
            .tempdir()
            .unwrap();
        let mut service = Service::new(Paths::under(dir.path()));
        // Short settle: the verification logic is the same, the 20-reload test stays bounded.
        service.policy = ReloadPolicy {
            poll: Duration::from_millis(50),
            timeout: Duration::from_secs(10),
            settle: Duration::from_millis(200),
        };
        service.stop_grace = Duration::from_secs(2);
        Haproxy { dir, service }
    }

    pub fn reloads(&self) -> u32 {
        self.service.show_proc().unwrap().reloads
    }

    pub fn config_text(&self) -> String {
        std::fs::read_to_string(&self.service.paths.config).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.service.paths.log_file).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.service.stop();
    }
}

/// A Python ThreadingHTTPServer answering every GET with its own name (spec §9.13: the plain
/// http.server backlog of 5 stalls under load, so the queue is raised). Killed on drop.
pub struct PyBackend {
    pub child: Child,
    pub addr: SocketAddr,
}

const PY_SERVER: &str = r#"
import http.server, socketserver, sys
name, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        body = name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    request_queue_size = 256
    allow_reuse_address = True
    daemon_threads = True
S((host, port), H).serve_forever()
"#;

impl PyBackend {
    pub fn start(label: &str, host: IpAddr, port: u16) -> Self {
        let child = Command::new("python3")
            .arg("-c")
            .arg(PY_SERVER)
            .arg(label)
            .arg(host.to_string())
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Health checks close early; the tracebacks that causes are noise.
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed");
        let addr = SocketAddr::new(host, port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "backend {label} did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        PyBackend { child, addr }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PyBackend {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP echo server on a thread; stops accepting when dropped.
pub struct EchoBackend {
    stop: Arc<AtomicBool>,
    pub addr: SocketAddr,
}

impl EchoBackend {
    pub fn start(host: IpAddr, port: u16) -> Self {
        let listener = TcpListener::bind((host, port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        std::thread::spawn(move || {
                            let _ = conn.set_nonblocking(false);
                            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                            let mut buf = [0u8; 4096];
                            while let Ok(n) = conn.read(&mut buf) {
                                if n == 0 || conn.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        EchoBackend {
            stop,
            addr: SocketAddr::new(host, port),
        }
    }
}

impl Drop for EchoBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `GET /` over a fresh connection (`Connection: close`); returns (status, body).
pub fn get(addr: SocketAddr) -> std::io::Result<(u16, String)> {
    let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.write_all(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")?;
    let mut reader = BufReader::new(conn);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut rest = String::new();
    reader.read_to_string(&mut rest)?;
    let body = rest.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok((status, body.to_owned()))
}

/// Run `haproxy -c -f` on text (in a fresh network namespace); Ok(()) or the stderr.
pub fn haproxy_check(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("check.cfg");
    std::fs::write(&file, text).unwrap();
    // In an empty network namespace: server host names in a plan must not send DNS queries
    // off this machine (tests talk to loopback only); there, resolution fails at once.
    let out = Command::new("unshare")
        .arg("--net")
        .arg("/usr/sbin/haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&file)
        .output()
        .expect("unshare (util-linux) and haproxy must be installed (make deps)");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
