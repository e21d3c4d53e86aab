//! `charm/build-charm.sh` (what `make charm` runs) packs the zip Juju deploys: the right
//! entries with the right modes (checked with `unzip -Z`), `hooks/<name>` symlinks to
//! `../dispatch` for the standard hooks and every relation hook of metadata.yaml, and a
//! manifest with charmcraft's bases. The static-link check of the release binary is
//! `make check-static` (run by `make test`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_haproxy-lb");
const STANDARD_HOOKS: [&str; 11] = [
    "install",
    "start",
    "stop",
    "remove",
    "upgrade-charm",
    "config-changed",
    "update-status",
    "leader-elected",
    "leader-settings-changed",
    "post-series-upgrade",
    "pre-series-upgrade",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (make deps): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Packs a charm from the test build of the binary.
fn pack(dir: &Path) -> PathBuf {
    let charm = dir.join("test.charm");
    run(
        root().join("charm/build-charm.sh").to_str().unwrap(),
        &[BIN, charm.to_str().unwrap(), root().to_str().unwrap()],
    );
    charm
}

/// Every relation hook name metadata.yaml implies, computed independently of hook-names.sh.
fn expected_hooks() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("metadata.yaml")).unwrap();
    let meta: BTreeMap<String, serde_yaml::Value> = serde_yaml::from_str(&text).unwrap();
    let mut hooks: BTreeSet<String> = STANDARD_HOOKS.iter().map(|h| h.to_string()).collect();
    for section in ["provides", "requires", "peers"] {
        let Some(endpoints) = meta.get(section).and_then(|v| v.as_mapping()) else {
            continue;
        };
        for endpoint in endpoints.keys() {
            let endpoint = endpoint.as_str().unwrap();
            for event in ["created", "joined", "changed", "departed", "broken"] {
                hooks.insert(format!("{endpoint}-relation-{event}"));
            }
        }
    }
    hooks
}

/// `unzip -Z` lines as (mode string, name).
fn listing(charm: &Path) -> Vec<(String, String)> {
    run("unzip", &["-Z", charm.to_str().unwrap()])
        .lines()
        .filter(|l| l.starts_with(['-', 'd', 'l']))
        .map(|l| {
            let mode = l.split_whitespace().next().unwrap().to_owned();
            let name = l.split_whitespace().last().unwrap().to_owned();
            (mode, name)
        })
        .collect()
}

#[test]
fn charm_zip_has_the_entries_juju_needs_with_their_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let charm = pack(tmp.path());
    let entries = listing(&charm);
    let mode_of = |name: &str| {
        entries
            .iter()
            .find(|(_, n)| n == name)
            .map(|(m, _)| m.as_str())
            .unwrap_or_else(|| panic!("{name} missing from {entries:?}"))
    };
    assert_eq!(mode_of("dispatch"), "-rwxr-xr-x");
    for file in [
        "metadata.yaml",
        "config.yaml",
        "actions.yaml",
        "manifest.yaml",
        "README.md",
        "icon.svg",
    ] {
        assert_eq!(mode_of(file), "-rw-r--r--", "{file}");
    }
    assert_eq!(mode_of("hooks/"), "drwxr-xr-x");

    let hooks: BTreeSet<String> = entries
        .iter()
        .filter_map(|(mode, name)| {
            let hook = name.strip_prefix("hooks/").filter(|h| !h.is_empty())?;
            assert_eq!(mode, "lrwxrwxrwx", "hooks/{hook} must be a symlink");
            Some(hook.to_owned())
        })
        .collect();
    assert_eq!(hooks, expected_hooks());
    for hook in [
        "install",
        "website-relation-joined",
        "peers-relation-changed",
    ] {
        let target = run(
            "unzip",
            &["-p", charm.to_str().unwrap(), &format!("hooks/{hook}")],
        );
        assert_eq!(target, "../dispatch", "{hook}");
    }
    let names: BTreeSet<&str> = entries.iter().map(|(_, n)| n.as_str()).collect();
    let expected_count = 8 + expected_hooks().len();
    assert_eq!(
        names.len(),
        expected_count,
        "nothing else in the zip: {names:?}"
    );
}

#[test]
fn dispatch_is_the_binary_and_yaml_files_are_the_repository_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let charm = pack(tmp.path());
    let out = tmp.path().join("unpacked");
    run(
        "unzip",
        &["-q", charm.to_str().unwrap(), "-d", out.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read(out.join("dispatch")).unwrap(),
        std::fs::read(BIN).unwrap()
    );
    for file in ["metadata.yaml", "config.yaml", "actions.yaml"] {
        assert_eq!(
            std::fs::read(out.join(file)).unwrap(),
            std::fs::read(root().join(file)).unwrap(),
            "{file}"
        );
    }
    assert_eq!(
        std::fs::read(out.join("README.md")).unwrap(),
        std::fs::read(root().join("charm/README.md")).unwrap()
    );
    // Unpacked, the symlinked hook runs the binary (argv[0] dispatch works from the zip).
    let version = run(out.join("hooks/install").to_str().unwrap(), &["--version"]);
    assert_eq!(
        version,
        format!("haproxy-lb {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn manifest_lists_ubuntu_22_04_and_24_04_amd64() {
    let tmp = tempfile::tempdir().unwrap();
    let charm = pack(tmp.path());
    let text = run("unzip", &["-p", charm.to_str().unwrap(), "manifest.yaml"]);
    let manifest: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let bases: Vec<(String, String, Vec<String>)> = manifest["bases"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap().to_owned(),
                b["channel"].as_str().unwrap().to_owned(),
                b["architectures"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        bases,
        [
            ("ubuntu".into(), "22.04".into(), vec!["amd64".into()]),
            ("ubuntu".into(), "24.04".into(), vec!["amd64".into()]),
        ]
    );
    assert!(manifest["charmcraft-started-at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
}

#[test]
fn actions_yaml_declares_only_implemented_actions() {
    // Exactly the actions `haproxy_lb::actions` dispatches, each closed to unknown parameters.
    let text = std::fs::read_to_string(root().join("actions.yaml")).unwrap();
    let actions: BTreeMap<String, serde_yaml::Value> = serde_yaml::from_str(&text).unwrap();
    let declared: BTreeSet<&str> = actions.keys().map(String::as_str).collect();
    let implemented: BTreeSet<&str> = haproxy_lb::actions::ACTIONS.into_iter().collect();
    assert_eq!(declared, implemented);
    for (name, action) in &actions {
        assert_eq!(
            action["additionalProperties"].as_bool(),
            Some(false),
            "{name}"
        );
        assert!(action["description"].as_str().is_some(), "{name}");
    }
}

#[test]
fn charmcraft_yaml_builds_for_both_bases_with_the_same_hooks() {
    let text = std::fs::read_to_string(root().join("charm/charmcraft.yaml")).unwrap();
    let project: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(project["type"].as_str(), Some("charm"));
    let platforms: BTreeSet<&str> = project["platforms"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        platforms,
        BTreeSet::from(["ubuntu@22.04:amd64", "ubuntu@24.04:amd64"])
    );
    let build = project["parts"]["haproxy-lb"]["override-build"]
        .as_str()
        .unwrap();
    assert!(build.contains("make build check-static"), "{build}");
    assert!(
        build.contains("charm/hook-names.sh metadata.yaml"),
        "{build}"
    );
    let names = run(
        root().join("charm/hook-names.sh").to_str().unwrap(),
        &[root().join("metadata.yaml").to_str().unwrap()],
    );
    let names: BTreeSet<String> = names.lines().map(str::to_owned).collect();
    assert_eq!(names, expected_hooks());
}
