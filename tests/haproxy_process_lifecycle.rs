//! The master-worker without systemd: one instance only, stale files, a failed reload keeps
//! the old config serving, runtime state survives reloads, stop leaves nothing behind.

mod util;

use haproxy_lb::haproxy::runtime::{RuntimeCommand, ServerAdminState};
use haproxy_lb::haproxy::service::{is_alive, Started};
use haproxy_lb::haproxy::{apply, ApplyOutcome, ReloadOutcome, State};
use haproxy_lb::plan::*;
use std::net::SocketAddr;
use std::time::Duration;
use util::*;

fn one_service(front: u8, back: u8, port_base: u16) -> LoadBalancerPlan {
    plan(vec![service(
        "life",
        Mode::Http,
        (ip(front), port_base),
        vec![
            server("life-0", ip(back), port_base + 1),
            server("life-1", ip(back), port_base + 1),
        ],
    )])
}

#[test]
fn failed_reload_is_reported_and_the_old_worker_keeps_serving() {
    let _b = PyBackend::start("old", ip(71), 22001);
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &one_service(70, 71, 22000)).unwrap();
    let good = haproxy.config_text();
    // Install a config the master cannot load, behind the charm's back, and reload.
    std::fs::write(
        &haproxy.service.paths.config,
        format!("{good}\nfrontend broken\n    bogus_keyword\n"),
    )
    .unwrap();
    let outcome = haproxy.service.reload().unwrap();
    match &outcome {
        ReloadOutcome::Failed {
            failed, log_tail, ..
        } => {
            assert!(*failed >= 1);
            assert!(log_tail.contains("bogus_keyword"), "{log_tail}");
        }
        other => panic!("expected a failed reload, got {other:?}"),
    }
    assert_eq!(
        get(SocketAddr::new(ip(70), 22000)).unwrap(),
        (200, "old".to_string())
    );
    // The charm's next apply puts the good config back and reloads successfully.
    let outcome = apply(&haproxy.service, &one_service(70, 71, 22000)).unwrap();
    assert!(
        matches!(outcome, ApplyOutcome::Reloaded { .. }),
        "{outcome:?}"
    );
    assert_eq!(haproxy.service.show_proc().unwrap().failed, 0);
}

#[test]
fn server_state_set_at_runtime_survives_a_reload() {
    let _b = PyBackend::start("state", ip(73), 22101);
    let haproxy = Haproxy::new();
    let mut plan = one_service(72, 73, 22100);
    apply(&haproxy.service, &plan).unwrap();
    let admin = haproxy.service.admin();
    admin
        .apply(&RuntimeCommand::SetState {
            backend: name("be_life"),
            server: ServerName::new("life-1").unwrap(),
            state: ServerAdminState::Maint,
        })
        .unwrap();
    admin
        .apply(&RuntimeCommand::SetWeight {
            backend: name("be_life"),
            server: ServerName::new("life-0").unwrap(),
            weight: 7,
        })
        .unwrap();
    let status = |srv: &str| {
        admin
            .show_stat()
            .unwrap()
            .into_iter()
            .find(|r| r.proxy() == "be_life" && r.service() == srv)
            .map(|r| {
                (
                    r.status().to_owned(),
                    r.get("weight").unwrap_or("").to_owned(),
                )
            })
            .unwrap()
    };
    assert_eq!(status("life-1").0, "MAINT");
    // A structural change forces a reload; the dumped state file brings MAINT back (§4).
    plan.global.maxconn = 2000;
    assert!(matches!(
        apply(&haproxy.service, &plan).unwrap(),
        ApplyOutcome::Reloaded { .. }
    ));
    assert_eq!(status("life-1").0, "MAINT");
    assert_eq!(status("life-0").1, "7");
    let dumped = std::fs::read_to_string(&haproxy.service.paths.server_state).unwrap();
    assert!(dumped.starts_with("1\n"), "{dumped}");
    assert!(dumped.contains("be_life"), "{dumped}");
}

#[test]
fn start_reuses_a_running_instance_and_replaces_stale_files() {
    let _b = PyBackend::start("one", ip(75), 22201);
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &one_service(74, 75, 22200)).unwrap();
    let State::Running(table) = haproxy.service.state() else {
        panic!("not running")
    };
    assert_eq!(
        haproxy.service.start().unwrap(),
        Started::AlreadyRunning {
            master_pid: table.master_pid
        }
    );
    // Kill the master hard: pidfile and sockets stay behind (§1).
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(table.master_pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while is_alive(table.master_pid) {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    // Workers notice the master's death and leave; wait for the port to be free.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while get(SocketAddr::new(ip(74), 22200)).is_ok() {
        assert!(std::time::Instant::now() < deadline, "worker kept serving");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(haproxy.service.paths.pidfile.exists());
    assert_eq!(haproxy.service.state(), State::Stopped);
    // Same bytes, nothing serving: apply starts it again.
    let outcome = apply(&haproxy.service, &one_service(74, 75, 22200)).unwrap();
    assert!(
        matches!(outcome, ApplyOutcome::Started { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        get(SocketAddr::new(ip(74), 22200)).unwrap(),
        (200, "one".to_string())
    );
}

#[test]
fn a_foreign_haproxy_on_our_pidfile_is_stopped_before_ours_starts() {
    let _b = PyBackend::start("mine", ip(77), 22301);
    let haproxy = Haproxy::new();
    let plan = one_service(76, 77, 22300);
    apply(&haproxy.service, &plan).unwrap();
    haproxy.service.stop().unwrap();
    // The init script's legacy daemon: no master CLI, same pidfile (§1, §9.12).
    let status = std::process::Command::new("/usr/sbin/haproxy")
        .arg("-D")
        .arg("-f")
        .arg(&haproxy.service.paths.config)
        .arg("-p")
        .arg(&haproxy.service.paths.pidfile)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    // `-D` returns before the daemon has written its pidfile.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(&haproxy.service.paths.pidfile)
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no pidfile from the daemon"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let State::Foreign { pid } = haproxy.service.state() else {
        panic!(
            "expected a foreign instance, got {:?}",
            haproxy.service.state()
        )
    };
    let started = haproxy.service.start().unwrap();
    assert!(matches!(started, Started::Started { master_pid } if master_pid != pid));
    assert!(!is_alive(pid), "the foreign daemon still runs");
    assert!(matches!(haproxy.service.state(), State::Running(_)));
    assert_eq!(
        get(SocketAddr::new(ip(76), 22300)).unwrap(),
        (200, "mine".to_string())
    );
}

#[test]
fn stop_ends_every_process_and_removes_pidfile_and_sockets() {
    let _b = PyBackend::start("stop", ip(79), 22401);
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &one_service(78, 79, 22400)).unwrap();
    let State::Running(table) = haproxy.service.state() else {
        panic!("not running")
    };
    haproxy.service.stop().unwrap();
    assert!(!is_alive(table.master_pid));
    for (pid, _) in &table.workers {
        assert!(!is_alive(*pid), "worker {pid} survived");
    }
    let paths = &haproxy.service.paths;
    assert!(!paths.pidfile.exists());
    assert!(!paths.master_socket.exists());
    assert!(!paths.admin_socket.exists());
    assert_eq!(haproxy.service.state(), State::Stopped);
    assert!(get(SocketAddr::new(ip(78), 22400)).is_err());
}

#[test]
fn a_reload_that_kills_haproxy_is_detected_and_the_next_apply_restarts_it() {
    let _b = PyBackend::start("phoenix", ip(85), 22601);
    let haproxy = Haproxy::new();
    let plan = one_service(84, 85, 22600);
    apply(&haproxy.service, &plan).unwrap();
    // A missing chroot passes `-c` and kills everything after the fork (§3).
    let chroot = haproxy.service.paths.chroot.clone().unwrap();
    std::fs::remove_dir(&chroot).unwrap();
    let outcome = haproxy.service.reload().unwrap();
    assert!(
        matches!(
            outcome,
            ReloadOutcome::MasterExited { .. } | ReloadOutcome::WorkerLost { .. }
        ),
        "{outcome:?}"
    );
    assert!(!matches!(haproxy.service.state(), State::Running(_)));
    // The next hook's apply sees the same bytes and nothing serving: it starts HAProxy.
    let outcome = apply(&haproxy.service, &plan).unwrap();
    assert!(
        matches!(outcome, ApplyOutcome::Started { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        get(SocketAddr::new(ip(84), 22600)).unwrap(),
        (200, "phoenix".to_string())
    );
}

#[test]
fn a_weight_changed_in_the_plan_wins_over_the_dumped_server_state() {
    let _b = PyBackend::start("weights", ip(87), 22701);
    let haproxy = Haproxy::new();
    let mut plan = one_service(86, 87, 22700);
    plan.backends[0].servers[0].weight = Some(5);
    apply(&haproxy.service, &plan).unwrap();
    let weight = || {
        haproxy
            .service
            .admin()
            .show_stat()
            .unwrap()
            .into_iter()
            .find(|r| r.proxy() == "be_life" && r.service() == "life-0")
            .and_then(|r| r.get("weight").map(str::to_owned))
            .unwrap()
    };
    assert_eq!(weight(), "5");
    plan.backends[0].servers[0].weight = Some(9);
    plan.global.maxconn = 3000;
    assert!(matches!(
        apply(&haproxy.service, &plan).unwrap(),
        ApplyOutcome::Reloaded { .. }
    ));
    assert_eq!(weight(), "9", "the state file's old weight came back");
}

#[test]
fn a_weight_only_change_goes_through_the_runtime_api_without_a_reload() {
    let _b = PyBackend::start("rt", ip(89), 22801);
    let haproxy = Haproxy::new();
    let mut plan = one_service(88, 89, 22800);
    plan.backends[0].servers[0].weight = Some(5);
    apply(&haproxy.service, &plan).unwrap();
    let reloads = haproxy.reloads();
    let weight = |srv: &str| {
        haproxy
            .service
            .admin()
            .show_stat()
            .unwrap()
            .into_iter()
            .find(|r| r.proxy() == "be_life" && r.service() == srv)
            .and_then(|r| r.get("weight").map(str::to_owned))
            .unwrap()
    };
    plan.backends[0].servers[0].weight = Some(9);
    plan.backends[0].servers[1].weight = Some(3);
    let outcome = apply(&haproxy.service, &plan).unwrap();
    assert_eq!(
        outcome,
        ApplyOutcome::RuntimeUpdated {
            commands: vec![
                RuntimeCommand::SetWeight {
                    backend: name("be_life"),
                    server: ServerName::new("life-0").unwrap(),
                    weight: 9,
                },
                RuntimeCommand::SetWeight {
                    backend: name("be_life"),
                    server: ServerName::new("life-1").unwrap(),
                    weight: 3,
                },
            ]
        }
    );
    assert_eq!(haproxy.reloads(), reloads, "a weight change reloaded");
    assert_eq!(
        (weight("life-0"), weight("life-1")),
        ("9".into(), "3".into())
    );
    // The file carries the new weights, so a later reload keeps them.
    assert!(haproxy.config_text().contains("weight 9"));
    assert_eq!(
        apply(&haproxy.service, &plan).unwrap(),
        ApplyOutcome::Unchanged
    );
    plan.global.maxconn = 1234;
    assert!(matches!(
        apply(&haproxy.service, &plan).unwrap(),
        ApplyOutcome::Reloaded { .. }
    ));
    assert_eq!(
        (weight("life-0"), weight("life-1")),
        ("9".into(), "3".into())
    );
}

/// One keep-alive client: `count` requests on one connection with idle pauses between them,
/// reconnecting only when the answer ends the connection (what a correct client does; no
/// retries). Returns the failures.
fn keep_alive_client(addr: SocketAddr, count: usize, pause: Duration) -> Vec<String> {
    use std::io::{BufRead, BufReader, Read, Write};
    let connect = || -> std::io::Result<BufReader<std::net::TcpStream>> {
        let stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(BufReader::new(stream))
    };
    let exchange = |conn: &mut BufReader<std::net::TcpStream>| -> Result<bool, String> {
        conn.get_mut()
            .write_all(b"GET / HTTP/1.1\r\nHost: lb\r\n\r\n")
            .map_err(|e| format!("write: {e}"))?;
        let (mut status, mut length) = (String::new(), 0usize);
        let (mut close, mut keep_alive) = (false, false);
        loop {
            let mut line = String::new();
            let n = conn
                .read_line(&mut line)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed before a response".into());
            }
            let line = line.trim_end().to_ascii_lowercase();
            if line.is_empty() {
                break;
            }
            if status.is_empty() {
                status = line;
            } else if let Some(v) = line.strip_prefix("content-length:") {
                length = v.trim().parse().map_err(|_| format!("length {v}"))?;
            } else if line == "connection: close" {
                close = true;
            } else if line == "connection: keep-alive" {
                keep_alive = true;
            }
        }
        let mut body = vec![0; length];
        conn.read_exact(&mut body)
            .map_err(|e| format!("body: {e}"))?;
        if !(status.starts_with("http/1.") && status.contains(" 200")) {
            return Err(status);
        }
        // An HTTP/1.0 answer (the backend's version, kept by HAProxy) closes unless it says
        // keep-alive.
        Ok(close || (status.starts_with("http/1.0") && !keep_alive))
    };
    let mut failures = Vec::new();
    let mut conn = None;
    for _ in 0..count {
        if conn.is_none() {
            conn = match connect() {
                Ok(c) => Some(c),
                Err(e) => {
                    failures.push(format!("connect: {e}"));
                    None
                }
            };
        }
        if let Some(c) = conn.as_mut() {
            match exchange(c) {
                Ok(false) => {}
                Ok(true) => conn = None,
                Err(e) => {
                    failures.push(e);
                    conn = None;
                }
            }
        }
        std::thread::sleep(pause);
    }
    failures
}

/// haproxy.md §3: a reload makes the old worker close idle keep-alive connections, and a
/// client that sends its next request on one sees it fail. `option idle-close-on-response`
/// makes the old worker answer that request with `Connection: close` instead.
#[test]
fn keep_alive_clients_lose_no_request_across_reloads() {
    let _b = PyBackend::start("ka", ip(94), 22901);
    let haproxy = Haproxy::new();
    apply(&haproxy.service, &one_service(93, 94, 22900)).unwrap();
    let front = SocketAddr::new(ip(93), 22900);
    let clients: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(move || keep_alive_client(front, 150, Duration::from_millis(20)))
        })
        .collect();
    let before = haproxy.reloads();
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(250));
        assert!(matches!(
            haproxy.service.reload().unwrap(),
            ReloadOutcome::Reloaded { .. }
        ));
    }
    let failures: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert_eq!(haproxy.reloads() - before, 10);
    assert!(
        failures.is_empty(),
        "{} of 900 requests failed: {:?}\n{}",
        failures.len(),
        &failures[..failures.len().min(5)],
        haproxy.log()
    );
}
