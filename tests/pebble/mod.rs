//! Shared harness for tests against Debian's Pebble ACME server (`spec/ssl-termination.md`
//! §4.8): a generated CA and API certificate (Debian ships none), `pebble-challtestsrv` as
//! Pebble's DNS and `pebble` itself, both killed when the [`Pebble`] is dropped (even when a
//! test fails).
//!
//! Everything listens on one given address: a jujusim model's bridge address `198.18.N.1` in the
//! host namespace, which both the model's units (the charm's ACME client) and Pebble's HTTP-01
//! validator (towards the unit's HAProxy) reach through the bridge. Nothing here talks to any
//! other address. A missing `pebble` is a loud failure, never a skip (`make deps` installs it).
#![allow(dead_code)]

use serde_json::json;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Ports on the listen address (it belongs to one model, so fixed ports cannot collide).
pub const API_PORT: u16 = 14000;
pub const MANAGEMENT_PORT: u16 = 15000;
pub const TLS_PORT: u16 = 15001;
pub const DNS_PORT: u16 = 8053;
pub const DNS_MANAGEMENT_PORT: u16 = 8055;

/// A child process killed when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait (at most 15 s) until something accepts connections on `addr`.
pub fn wait_port(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{addr} never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Wait (at most 15 s) until `child` listens on `addr`; fail with its log if it exits first.
fn wait_listening(child: &mut Guard, addr: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(addr).is_err() {
        let exited = child.0.try_wait().unwrap();
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "{addr} never listened ({exited:?}); {}:\n{}",
            log.display(),
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Nothing may listen on `addr` yet: a leftover Pebble (from a killed run on a reused model
/// subnet) would answer in place of ours with another CA.
pub fn assert_free(addr: &str) {
    assert!(
        std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1))
            .is_err(),
        "something already listens on {addr}: a leftover pebble? (ss -ltnp)"
    );
}

/// How to run Pebble.
#[derive(Debug, Clone)]
pub struct PebbleConfig {
    /// Where Pebble and its DNS listen (the API certificate's IP SAN).
    pub listen: IpAddr,
    /// The port Pebble fetches HTTP-01 answers from (our `ssl_termination_http_port`).
    pub http_port: u16,
    /// What Pebble's DNS answers for every name not given to [`Pebble::add_a`].
    pub default_answer: IpAddr,
    /// `certificateValidityPeriod` in seconds.
    pub validity_s: u64,
}

/// A running Pebble with its DNS server.
pub struct Pebble {
    // Field order = drop order: Pebble before its DNS.
    _pebble: Guard,
    _dns: Guard,
    pub config: PebbleConfig,
    /// PEM of the CA of Pebble's API certificate (`acme_ca_certificate`).
    pub api_ca: String,
    pub api_ca_file: PathBuf,
    dir: PathBuf,
}

fn write(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// A log file for a child's stdout and stderr (Go's `log` writes to stderr).
fn log_file(path: &Path) -> (Stdio, Stdio) {
    let file = std::fs::File::create(path).unwrap();
    (file.try_clone().unwrap().into(), file.into())
}

/// `curl -sS --fail` with `args`; its stdout, or a panic with its stderr.
fn curl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl Pebble {
    /// Generate the API certificate, start the DNS server and Pebble, wait until both listen.
    pub fn start(dir: &Path, config: PebbleConfig) -> Pebble {
        for bin in ["/usr/bin/pebble", "/usr/bin/pebble-challtestsrv"] {
            assert!(
                Path::new(bin).is_file(),
                "{bin} missing: apt-get install pebble (make deps does)"
            );
        }
        std::fs::create_dir_all(dir).unwrap();
        let host = config.listen;
        for port in [API_PORT, MANAGEMENT_PORT, DNS_MANAGEMENT_PORT] {
            assert_free(&format!("{host}:{port}"));
        }
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "test pebble api ca");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![host.to_string()]).unwrap();
        params.subject_alt_names = vec![rcgen::SanType::IpAddress(host)];
        let cert = params.signed_by(&key, &issuer).unwrap();
        write(&dir.join("api.pem"), cert.pem());
        write(&dir.join("api.key"), key.serialize_pem());
        let api_ca_file = dir.join("api-ca.pem");
        write(&api_ca_file, ca.pem());
        let pebble_config = json!({"pebble": {
            "listenAddress": format!("{host}:{API_PORT}"),
            "managementListenAddress": format!("{host}:{MANAGEMENT_PORT}"),
            "certificate": dir.join("api.pem"),
            "privateKey": dir.join("api.key"),
            "httpPort": config.http_port,
            "tlsPort": TLS_PORT,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": config.validity_s,
        }});
        write(&dir.join("pebble.json"), pebble_config.to_string());
        let dns_log = dir.join("dns.log");
        let (out, err) = log_file(&dns_log);
        let mut dns = Guard(
            Command::new("pebble-challtestsrv")
                .args(["-defaultIPv4", &config.default_answer.to_string()])
                .args(["-defaultIPv6", ""])
                .args(["-dns01", &format!("{host}:{DNS_PORT}")])
                .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
                .args(["-management", &format!("{host}:{DNS_MANAGEMENT_PORT}")])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("pebble-challtestsrv"),
        );
        wait_listening(&mut dns, &format!("{host}:{DNS_MANAGEMENT_PORT}"), &dns_log);
        let pebble_log = dir.join("pebble.log");
        let (out, err) = log_file(&pebble_log);
        let mut pebble = Guard(
            Command::new("pebble")
                .arg("-config")
                .arg(dir.join("pebble.json"))
                .args(["-dnsserver", &format!("{host}:{DNS_PORT}")])
                // No random 0-15 s wait before each validation (§4.8).
                .env("PEBBLE_VA_NOSLEEP", "1")
                .env_remove("PEBBLE_VA_ALWAYS_VALID")
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("pebble"),
        );
        wait_listening(&mut pebble, &format!("{host}:{API_PORT}"), &pebble_log);
        wait_listening(
            &mut pebble,
            &format!("{host}:{MANAGEMENT_PORT}"),
            &pebble_log,
        );
        Pebble {
            _pebble: pebble,
            _dns: dns,
            config,
            api_ca: ca.pem(),
            api_ca_file,
            dir: dir.to_owned(),
        }
    }

    /// `acme_directory_url`.
    pub fn directory_url(&self) -> String {
        format!("https://{}:{API_PORT}/dir", self.config.listen)
    }

    /// Make `host` resolve to `address` (challtestsrv management API, §4.8).
    pub fn add_a(&self, host: &str, address: &str) {
        let body = json!({"host": format!("{host}."), "addresses": [address]}).to_string();
        let url = format!("http://{}:{DNS_MANAGEMENT_PORT}/add-a", self.config.listen);
        curl(&["-d", &body, &url]);
    }

    /// The root that issues leaf certificates (new at every start, §4.8), as a file.
    pub fn root(&self) -> PathBuf {
        let path = self.dir.join("issuing-root.pem");
        let url = format!("https://{}:{MANAGEMENT_PORT}/roots/0", self.config.listen);
        let ca = self.api_ca_file.to_string_lossy();
        write(&path, curl(&["--cacert", &ca, &url]));
        path
    }

    /// The last `lines` lines of Pebble's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("pebble.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}
