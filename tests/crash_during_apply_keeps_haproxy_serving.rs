//! Crash safety of `haproxy::apply` (issue 10 item 3, `spec/haproxy.md` §2-§3). HAProxy serves
//! plan A; a child process (this test binary, entry `crash_child`) applies plan B and is killed
//! with SIGKILL at one step: while `haproxy -c` checks the written candidate, after validation,
//! after the rename, just before the reload, during the reload (after several delays), and
//! after the verified reload before last-good is saved. Then:
//! - HAProxy still runs and answers with A or B (never a broken config, never down);
//! - the live `haproxy.cfg` passes `haproxy -c` and is exactly A's or B's rendering;
//! - no temp file is left but the fixed-name candidate (overwritten by the next run);
//! - the next `apply` of B converges: B is served, live = last-good = B, no candidate left.
//!
//! Power cut: the rename path is traced with strace: the candidate is fsynced before its
//! rename and the directory after it.
//!
//! Addresses 127.0.7.x, ports 60100-60299 (this branch's range).

mod util;

use haproxy_lb::haproxy::{self, Paths, ReloadPolicy, Service, State, Step};
use haproxy_lb::plan::{LoadBalancerPlan, Mode};
use haproxy_lb::render::render;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use util::{get, server, service, PyBackend};

const STEP_VAR: &str = "CRASH_TEST_STEP";
const ROOT_VAR: &str = "CRASH_TEST_ROOT";
const FRONTEND_VAR: &str = "CRASH_TEST_FRONTEND";
const FRONTEND: u16 = 60100;

fn ip(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 7, last])
}

fn plan_for(label: &str, backend: SocketAddr) -> LoadBalancerPlan {
    plan_on(FRONTEND, label, backend)
}

fn plan_on(frontend: u16, label: &str, backend: SocketAddr) -> LoadBalancerPlan {
    util::plan(vec![service(
        "web",
        Mode::Http,
        (ip(1), frontend),
        vec![server(label, backend.ip(), backend.port())],
    )])
}

fn plans() -> (LoadBalancerPlan, LoadBalancerPlan) {
    (
        plan_for("a", SocketAddr::new(ip(2), 60200)),
        plan_for("b", SocketAddr::new(ip(3), 60201)),
    )
}

fn service_under(root: &Path) -> Service {
    let mut service = Service::new(Paths::under(root));
    service.policy = ReloadPolicy {
        poll: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
        settle: Duration::from_millis(200),
    };
    service.stop_grace = Duration::from_secs(2);
    service
}

fn die() {
    let _ = kill(Pid::this(), Signal::SIGKILL);
    std::thread::sleep(Duration::from_secs(30));
}

/// The child: applies B and dies at the step named in its environment. Run only by the tests
/// below (`--ignored`), never on its own.
#[test]
#[ignore = "the crashing child of the tests below"]
fn crash_child() {
    let step = std::env::var(STEP_VAR).expect("run by crash tests only");
    let root = std::env::var(ROOT_VAR).unwrap();
    let mut service = service_under(Path::new(&root));
    if step == "validating" {
        // `haproxy -c` kills its caller: the candidate is written, the check not finished.
        let wrapper = Path::new(&root).join("haproxy-killing-its-caller");
        util_script(
            &wrapper,
            "#!/bin/sh\n[ \"$1\" = -c ] && { kill -9 $PPID; sleep 10; }\nexec /usr/sbin/haproxy \"$@\"\n",
        );
        service.paths.haproxy_bin = wrapper;
    }
    let frontend = std::env::var(FRONTEND_VAR).map_or(FRONTEND, |p| p.parse().unwrap());
    let b = plan_on(frontend, "b", SocketAddr::new(ip(3), 60201));
    let at = move |reached: Step| match (step.as_str(), reached) {
        ("validated", Step::Validated)
        | ("installed", Step::Installed)
        | ("reloading", Step::Reloading)
        | ("reloaded", Step::Reloaded) => die(),
        (delayed, Step::Reloading) if delayed.starts_with("reload+") => {
            let ms: u64 = delayed["reload+".len()..].parse().unwrap();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(ms));
                die();
            });
        }
        _ => {}
    };
    let outcome = haproxy::apply_observed(&service, &b, &at);
    println!("child finished: {outcome:?}");
}

fn util_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs the child; true when SIGKILL ended it (false: it finished before the timed kill).
fn run_child(step: &str, root: &Path) -> bool {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(STEP_VAR, step)
        .env(ROOT_VAR, root)
        .output()
        .unwrap();
    match out.status.signal() {
        Some(9) => true,
        _ => {
            assert!(
                out.status.success(),
                "child {step} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            false
        }
    }
}

/// Stops HAProxy when dropped, even if an assertion fails.
struct Stop<'a>(&'a Service);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        let _ = self.0.stop();
    }
}

fn leftovers(root: &Path) -> Vec<String> {
    let dir = root.join("etc/haproxy");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "haproxy.cfg" && n != "haproxy.cfg.last-good")
        .collect();
    names.sort();
    names
}

fn body(addr: SocketAddr) -> String {
    let (status, body) = get(addr).expect("HAProxy answers");
    assert_eq!(status, 200);
    body
}

#[test]
fn sigkill_at_every_step_of_apply_leaves_haproxy_serving_and_the_next_run_converges() {
    let _a = PyBackend::start("a", ip(2), 60200);
    let _b = PyBackend::start("b", ip(3), 60201);
    let front = SocketAddr::new(ip(1), FRONTEND);
    let (a, b) = plans();
    let mut killed = 0;
    let steps = [
        "validating",
        "validated",
        "installed",
        "reloading",
        "reload+0",
        "reload+30",
        "reload+100",
        "reload+300",
        "reloaded",
    ];
    for step in steps {
        let dir = tempfile::Builder::new().prefix("crash").tempdir().unwrap();
        let service = service_under(dir.path());
        let _stop = Stop(&service);
        let render_under = |plan: &LoadBalancerPlan| {
            render(plan, &service.paths.runtime_files().unwrap()).unwrap()
        };
        haproxy::apply(&service, &a).unwrap_or_else(|e| panic!("{step}: start on A: {e}"));
        assert_eq!(body(front), "a");

        killed += usize::from(run_child(step, dir.path()));

        let State::Running(_) = service.state() else {
            panic!("{step}: HAProxy is not running after the crash");
        };
        let served = body(front);
        assert!(served == "a" || served == "b", "{step}: served {served:?}");
        let live = std::fs::read_to_string(&service.paths.config).unwrap();
        assert!(
            live == render_under(&a) || live == render_under(&b),
            "{step}: the live config is neither A nor B:\n{live}"
        );
        util::haproxy_check(&live).unwrap_or_else(|e| panic!("{step}: live config invalid: {e}"));
        let left = leftovers(dir.path());
        assert!(
            left.is_empty() || left == [".haproxy.cfg.new"],
            "{step}: temp files left: {left:?}"
        );

        let outcome = haproxy::apply(&service, &b)
            .unwrap_or_else(|e| panic!("{step}: the next run did not converge: {e}"));
        assert_eq!(body(front), "b", "{step}: after {outcome:?}");
        let live = std::fs::read(&service.paths.config).unwrap();
        assert_eq!(live, render_under(&b).into_bytes(), "{step}");
        assert_eq!(
            std::fs::read(&service.paths.last_good).unwrap(),
            live,
            "{step}"
        );
        assert!(
            leftovers(dir.path()).is_empty(),
            "{step}: {:?}",
            leftovers(dir.path())
        );
    }
    eprintln!(
        "crash: {} crash points, {killed} children killed mid-apply, all converged",
        steps.len()
    );
    assert!(
        killed >= steps.len() - 2,
        "too few crashes landed: {killed}"
    );
}

#[test]
fn the_rename_path_fsyncs_the_candidate_and_then_its_directory() {
    assert!(
        Path::new("/usr/bin/strace").exists(),
        "this test needs strace: run `make deps`"
    );
    let _a = PyBackend::start("a", ip(4), 60202);
    let dir = tempfile::Builder::new().prefix("crash").tempdir().unwrap();
    let service = service_under(dir.path());
    let _stop = Stop(&service);
    let a = plan_on(60101, "a", SocketAddr::new(ip(4), 60202));
    haproxy::apply(&service, &a).unwrap();
    let trace = dir.path().join("trace");
    // The child applies B: stage (write + fsync), rename, fsync of the directory, reload.
    let out = Command::new("/usr/bin/strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,fsync,fdatasync,rename,renameat,renameat2",
        ])
        .arg("-o")
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(STEP_VAR, "none")
        .env(FRONTEND_VAR, "60101")
        .env(ROOT_VAR, dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&trace).unwrap();
    let etc = dir.path().join("etc/haproxy");
    let candidate = etc.join(".haproxy.cfg.new");
    let lines: Vec<&str> = text.lines().collect();
    let find = |from: usize, pred: &dyn Fn(&str) -> bool| {
        lines[from..].iter().position(|l| pred(l)).map(|p| p + from)
    };
    let fd_of = |line: &str| line.rsplit("= ").next().unwrap().trim().to_owned();
    let open = find(0, &|l| {
        l.contains("openat(")
            && l.contains(&format!("\"{}\"", candidate.display()))
            && l.contains("O_CREAT")
    })
    .unwrap_or_else(|| panic!("candidate never opened:\n{text}"));
    let fd = fd_of(lines[open]);
    let synced = find(open, &|l| l.contains(&format!("fsync({fd})")))
        .unwrap_or_else(|| panic!("candidate fd {fd} never fsynced:\n{text}"));
    let renamed = find(synced, &|l| {
        l.contains("rename") && l.contains(".haproxy.cfg.new") && l.contains("haproxy.cfg\"")
    })
    .unwrap_or_else(|| panic!("no rename after the fsync:\n{text}"));
    let dir_open = find(renamed, &|l| {
        l.contains("openat(")
            && l.contains(&format!("\"{}\"", etc.display()))
            && l.contains("O_DIRECTORY")
            || l.contains("openat(")
                && l.contains(&format!("\"{}\", O_RDONLY|O_CLOEXEC)", etc.display()))
    })
    .unwrap_or_else(|| panic!("directory not opened after the rename:\n{text}"));
    let dir_fd = fd_of(lines[dir_open]);
    find(dir_open, &|l| l.contains(&format!("fsync({dir_fd})")))
        .unwrap_or_else(|| panic!("directory fd {dir_fd} never fsynced:\n{text}"));
}
