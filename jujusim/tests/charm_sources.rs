//! Charm sources and the checks `deploy` makes before anything runs: a `.charm` zip is unpacked
//! into the unit's charm directory (modes kept), a directory is copied; bad input is refused
//! with a clear error and leaves the model as it was.

mod common;
use common::TestModel;
use std::process::Command;

#[test]
fn a_charm_zip_deploys_like_its_directory() {
    let m = TestModel::new("src-zip");
    let dir = m.charm("hooklog");
    let zip = m.tmp.path().join("hooklog.charm");
    let st = Command::new("zip")
        .arg("-q")
        .arg("-r")
        .arg(&zip)
        .arg(".")
        .current_dir(&dir)
        .status()
        .expect("zip is installed (make deps)");
    assert!(st.success());
    m.ok(&["deploy", zip.to_str().unwrap(), "zipped"]);
    assert_eq!(
        m.hooks_of("zipped/0"),
        [
            "install",
            "cluster-relation-created",
            "leader-elected",
            "config-changed",
            "start"
        ]
    );
    assert!(m.unit_charm_dir("zipped/0").join("dispatch").exists());
    m.clear_hooks();
    m.ok(&["upgrade-charm", "zipped", zip.to_str().unwrap()]);
    assert_eq!(m.hooks_of("zipped/0"), ["upgrade-charm", "config-changed"]);
    assert_eq!(m.status()["applications"]["zipped"]["charm-rev"], 1);
}

#[test]
fn bad_deploys_are_refused_and_change_nothing() {
    let m = TestModel::new("src-bad");
    let dir = m.charm("hooklog");
    let before = std::fs::read(m.root.join("model.json")).unwrap();
    let empty = m.tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, err) = m.fails(&["deploy", empty.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("metadata.yaml missing"), "{err}");
    let (_, err) = m.fails(&["deploy", dir.to_str().unwrap(), "Bad_Name"]);
    assert!(err.contains("invalid application name"), "{err}");
    let (_, err) = m.fails(&["deploy", dir.to_str().unwrap(), "--config", "count=x"]);
    assert_eq!(err, "ERROR option \"count\" expected int, got \"x\"\n");
    let (_, err) = m.fails(&["deploy", "/nonexistent/charm"]);
    assert!(err.contains("/nonexistent/charm"), "{err}");
    assert_eq!(std::fs::read(m.root.join("model.json")).unwrap(), before);
    m.ok(&["deploy", dir.to_str().unwrap()]);
    let (_, err) = m.fails(&["deploy", dir.to_str().unwrap()]);
    assert_eq!(
        err,
        "ERROR cannot add application \"hooklog\": application already exists\n"
    );
    let (_, err) = m.fails(&["frobnicate"]);
    assert!(err.contains("unrecognized command"), "{err}");
    let help = m.ok(&["--help"]);
    for command in [
        "init",
        "deploy",
        "add-unit",
        "remove-unit",
        "remove-application",
        "relate",
        "remove-relation",
        "config",
        "run",
        "status",
        "show-unit",
        "fire",
        "resolve",
        "set-leader",
        "debug-log",
        "upgrade-charm",
        "exec",
        "destroy",
    ] {
        assert!(
            help.contains(&format!("\n  {command} ")),
            "--help lacks {command}"
        );
    }
}
