//! Secrets (issue 10 item 6, DESIGN "Secrets"): the real binary, on a machine of its own, gets
//! a monitoring password, a TLS key for a loadbalancer request (`tls_termination`), a
//! certificate+key in a `reverseproxy` unit's `crts`, and a broken key carrying a marker. Then:
//! - the key and certificate files are 0600 in 0700 directories, and every file the charm
//!   keeps in its state directory is 0600;
//! - the password appears nowhere but as its SHA-512 crypt hash in `haproxy.cfg`;
//! - no key material (any base64 line of a key, the marker) appears in any tool call (juju-log,
//!   status-set, relation-set data), the process's stdout/stderr, or `haproxy.cfg`;
//! - an `ssl-termination` requirer's basic-auth password appears nowhere either: `haproxy.cfg`
//!   holds only its SHA-512 crypt hash;
//! - the `show-config` action, run on the same machine afterwards, shows none of them in its
//!   results (`action-set`) either.
//!
//! (Certificates are self-signed here: an ACME account key is made only when an ACME server is
//! reached, which `tests/ssl_termination_pebble_through_jujusim.rs` covers.)

mod machine;
mod support;

use std::path::Path;
use std::process::Command;
use support::{write_script, Recorder};

const PASSWORD: &str = "Pw-9c1e-S3cret-monitoring";
const MARKER: &str = "SECRETMARKERc0ffee";
const BASIC_AUTH_PASSWORD: &str = "Basic-7f3a-Pw-for-alice";

/// A fresh EC certificate and key (PEM), made with openssl.
fn certificate(dir: &Path) -> (String, String) {
    let (key, cert) = (dir.join("k.pem"), dir.join("c.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=lb.test"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl must be installed (make deps)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read_to_string(cert).unwrap(),
        std::fs::read_to_string(key).unwrap(),
    )
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * k) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn model(recorder: &Recorder, scratch: &Path, cert: &str, key: &str) {
    let mut config: serde_json::Value =
        serde_json::from_str(&machine::config_defaults_json()).unwrap();
    config["enable_monitoring"] = true.into();
    config["monitoring_password"] = PASSWORD.into();
    config["monitoring_port"] = 60910.into();
    config["certificate_source"] = "self-signed".into();
    config["ssl_termination_http_port"] = 60480.into();
    config["ssl_termination_https_port"] = 60481.into();
    recorder.respond("config-get", &config.to_string());
    recorder.respond("is-leader", "true");
    recorder.respond("unit-get", "\"127.0.7.1\"");
    recorder.respond("opened-ports", "[]");
    recorder.respond("network-get", "\"127.0.7.1\"");
    let request = |name: &str, port: u16, key: &str| {
        let mut r = serde_json::json!({
            "algorithm": [], "backends": ["127.0.7.42"], "health_checks": [],
            "id": "5f0c2a9e4b7d4c3a9e1f2b6d8a0c4e71", "ingress_address": null, "name": name,
            "port_mapping": {port.to_string(): 8443}, "protocol": "https", "public": true,
            "sent_hash": null, "sticky": false, "tls_cert": cert, "tls_key": key,
            "tls_termination": true
        });
        r["name"] = name.into();
        r.to_string()
    };
    let broken_key =
        format!("-----BEGIN PRIVATE KEY-----\n{MARKER}AAAA\n-----END PRIVATE KEY-----\n");
    let lb_bag = serde_json::json!({
        "version": "1",
        "request_tls": request("tls", 60444, key),
        "request_broken": request("broken", 60445, &broken_key),
    });
    let services = format!(
        "- service_name: tlsweb\n  service_host: 0.0.0.0\n  service_port: 60443\n  servers: [[s1, 127.0.7.43, 8080, null]]\n  crts: [{}]\n",
        base64(format!("{cert}{key}").as_bytes())
    );
    let web_bag = serde_json::json!({
        "private-address": "127.0.7.43", "port": "8080", "services": services
    });
    let cert_request = serde_json::json!({
        "contact-email": "", "credentials": format!("alice {BASIC_AUTH_PASSWORD}"),
        "fqdn": ["site.example.com"],
        "upstreams": [{"hostname": "127.0.7.44", "port": "8080"}]
    });
    let site_bag = serde_json::json!({ "cert-request": cert_request.to_string() });
    std::fs::write(scratch.join("site.json"), site_bag.to_string()).unwrap();
    std::fs::write(scratch.join("lb.json"), lb_bag.to_string()).unwrap();
    std::fs::write(scratch.join("web.json"), web_bag.to_string()).unwrap();
    let bin = recorder.bin();
    write_script(
        &bin.join("relation-ids"),
        "#!/bin/sh\ncase \"$*\" in *reverseproxy*) echo '[\"reverseproxy:1\"]';; *lb-consumers*) echo '[\"lb-consumers:2\"]';; *ssl-termination*) echo '[\"ssl-termination:3\"]';; *) echo '[]';; esac\n",
    );
    write_script(
        &bin.join("relation-list"),
        "#!/bin/sh\ncase \"$*\" in *--app*reverseproxy*) echo '\"web\"';; *--app*ssl-termination*) echo '\"site\"';; *--app*) echo '\"edge\"';; *reverseproxy*) echo '[\"web/0\"]';; *ssl-termination*) echo '[\"site/0\"]';; *) echo '[\"edge/0\"]';; esac\n",
    );
    write_script(
        &bin.join("relation-get"),
        &format!(
            "#!/bin/sh\ncase \"$*\" in *' - web/0') cat '{web}';; *' - site/0') cat '{site}';; *'--app - edge') cat '{lb}';; *' - edge/0') echo '{{\"ingress-address\":\"127.0.7.42\"}}';; *) echo '{{}}';; esac\n",
            web = scratch.join("web.json").display(),
            site = scratch.join("site.json").display(),
            lb = scratch.join("lb.json").display(),
        ),
    );
}

/// Every line of base64 in a PEM block (the secret part).
fn key_lines(pem: &str) -> Vec<&str> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .collect()
}

#[test]
fn secrets_stay_in_private_files_and_out_of_every_output() {
    let recorder = Recorder::new();
    let (cert, key) = certificate(recorder.scratch());
    model(&recorder, recorder.scratch(), &cert, &key);
    let charm = tempfile::tempdir().unwrap();
    let env = machine::juju_env(&recorder.bin_str(), charm.path(), "config-changed");
    recorder.respond("action-get", "{}");
    // The hook, then the `show-config` action on the same machine (an action's environment:
    // dispatch path `actions/<name>`, no hook name, an action id).
    let out = machine::run(
        "\"$0\"; echo \"--- rc $?\"; \
         JUJU_DISPATCH_PATH=actions/show-config JUJU_HOOK_NAME= JUJU_ACTION_NAME=show-config \
         JUJU_ACTION_UUID=7 \"$0\"; echo \"--- action rc $?\"; \
         find /etc/haproxy /var/lib/haproxy-lb -exec stat -c '%a %F %n' {} + | sort -k3; \
         echo '--- cfg'; cat /etc/haproxy/haproxy.cfg",
        &env,
        charm.path(),
    );
    let stdout = machine::text(&out.stdout);
    let stderr = machine::text(&out.stderr);
    assert!(
        stdout.contains("--- rc 0"),
        "{stdout}{stderr}{:?}",
        recorder.lines()
    );
    let (listing, cfg) = stdout.split_once("--- cfg\n").unwrap();

    // Files: keys 0600 in 0700 directories; everything in the state dir 0600.
    let entries: Vec<(&str, &str, &str)> = listing
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ' ');
            Some((it.next()?, it.next()?, it.next()?))
        })
        .collect();
    let pems: Vec<_> = entries
        .iter()
        .filter(|(_, _, p)| p.ends_with(".pem"))
        .collect();
    assert!(
        pems.len() >= 2,
        "expected the lb and the crts key files: {listing}{:?}",
        recorder.lines()
    );
    for (mode, _, path) in &pems {
        assert_eq!(*mode, "600", "{path}");
    }
    for (mode, kind, path) in &entries {
        let private_dir = path.contains("certs") || path.starts_with("/var/lib/haproxy-lb");
        if *kind == "directory" && private_dir {
            assert_eq!(*mode, "700", "{path}");
        }
        if *kind == "regular file" && path.starts_with("/var/lib/haproxy-lb/") {
            assert_eq!(*mode, "600", "{path}");
        }
    }

    // The passwords: only their hashes are in haproxy.cfg.
    assert!(cfg.contains("user haproxy password $6$"), "{cfg}");
    assert!(cfg.contains("user alice password $6$"), "{cfg}");
    assert!(
        stdout.contains("--- action rc 0"),
        "{stdout}{:?}",
        recorder.lines()
    );
    let calls = recorder.lines();
    assert!(
        calls.iter().any(|l| l.starts_with("action-set")),
        "show-config reported its results: {calls:?}"
    );
    let mut outputs: Vec<(String, String)> = recorder
        .calls()
        .into_iter()
        .map(|c| (c.line(), format!("{}\n{}", c.line(), c.stdin)))
        .collect();
    outputs.push(("stdout".into(), stdout.clone()));
    outputs.push(("stderr".into(), stderr));
    let mut secrets: Vec<&str> = vec![PASSWORD, MARKER, BASIC_AUTH_PASSWORD];
    secrets.extend(key_lines(&key));
    let mut checked = 0;
    for (what, text) in &outputs {
        for secret in &secrets {
            assert!(!text.contains(secret), "a secret leaked into {what}");
            checked += 1;
        }
    }
    // The broken key was rejected, and said so without its content.
    let lines = recorder.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("broken") && l.contains("tls_key")),
        "{lines:?}"
    );
    eprintln!(
        "secrets: {} secrets x {} outputs = {checked} checks, {} key files 0600",
        secrets.len(),
        outputs.len(),
        pems.len()
    );
}
