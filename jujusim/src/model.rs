//! The model state: applications, units, machines, relations with their bags, the hook queue
//! and action tasks, and how it is stored (one JSON file, written atomically, under an exclusive
//! lock held for a whole CLI command). Hook order lives in `hook_order`, running in `runner`.

use crate::context::{Bag, PortRange, Status};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a jujusim model (run `jujusim init` first)")]
    NotAModel { path: String },
    #[error("{path}: model state is corrupt: {source}")]
    Corrupt {
        path: String,
        source: serde_json::Error,
    },
    #[error("cannot lock {path}: {source}")]
    Lock { path: String, source: nix::Error },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The version `JUJU_VERSION` carries unless the model overrides it (spec §1.6: ≥ 3.6.2).
pub const DEFAULT_JUJU_VERSION: &str = "3.6.8";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Life {
    #[default]
    Alive,
    Dying,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct StatusEntry {
    pub status: Status,
    pub since: String,
}

impl StatusEntry {
    pub fn new(status: &str, message: &str) -> StatusEntry {
        StatusEntry {
            status: Status {
                status: status.into(),
                message: message.into(),
                data: Default::default(),
            },
            since: now_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HistoryEntry {
    /// `workload` or `juju-unit`.
    pub kind: String,
    pub status: String,
    pub message: String,
    pub since: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Application {
    pub name: String,
    pub charm_name: String,
    /// Where the charm came from (path given to deploy / upgrade-charm).
    pub charm_source: String,
    pub charm_revision: u32,
    /// Values set by the user (`juju config`); defaults come from the charm.
    pub config: BTreeMap<String, Value>,
    pub leader: Option<String>,
    pub leader_settings: Bag,
    pub status: StatusEntry,
    /// Whether the charm ever set the application status.
    pub status_set: bool,
    pub workload_version: String,
    pub next_unit: u32,
    pub subordinate: bool,
    pub life: Life,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct UnitRelation {
    /// Remote units this unit has been told about (§6.6).
    pub members: BTreeSet<String>,
    /// Remote unit bags as last delivered (§6.5 item 4).
    pub snapshots: BTreeMap<String, Bag>,
    /// The `-broken` hook has started: `relation-ids` omits the relation.
    pub broken: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unit {
    pub name: String,
    pub app: String,
    pub number: u32,
    pub machine: u32,
    /// The principal unit of a subordinate.
    pub principal: Option<String>,
    pub life: Life,
    pub installed: bool,
    pub started: bool,
    /// Whether the charm ever called `status-set` for this unit (§1.5 "After start").
    pub status_set: bool,
    pub workload: StatusEntry,
    /// `idle`, `executing`, `error` (message `hook failed: "<hook>"`).
    pub agent: StatusEntry,
    pub history: Vec<HistoryEntry>,
    /// The hook that failed, retried by `resolve`.
    pub failed_hook: Option<QueuedHook>,
    pub opened_ports: BTreeSet<PortRange>,
    pub charm_state: Bag,
    pub charm_state_exists: bool,
    /// Relations this unit has entered, by id.
    pub relations: BTreeMap<u64, UnitRelation>,
    pub charm_revision: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RelationEnd {
    pub app: String,
    pub endpoint: String,
    pub role: crate::charm::Role,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relation {
    pub id: u64,
    /// One end for a peer relation, two otherwise (requirer first, as Juju's key).
    pub ends: Vec<RelationEnd>,
    pub interface: String,
    /// `scope: container`: units see only the counterpart on their own machine.
    pub container: bool,
    /// Bags of every unit that ever entered scope (data stays readable after departing, §6.3).
    pub unit_bags: BTreeMap<String, Bag>,
    pub app_bags: BTreeMap<String, Bag>,
    /// Units currently in scope.
    pub in_scope: BTreeSet<String>,
    pub life: Life,
}

impl Relation {
    pub fn is_peer(&self) -> bool {
        self.ends.len() == 1
    }

    /// Juju's relation key: `wordpress:db mysql:server` (requirer first) or `app:peers`.
    pub fn key(&self) -> String {
        self.ends
            .iter()
            .map(|e| format!("{}:{}", e.app, e.endpoint))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The end belonging to `app`.
    pub fn end_of(&self, app: &str) -> Option<&RelationEnd> {
        self.ends.iter().find(|e| e.app == app)
    }

    /// The other application (the same one for peers).
    pub fn remote_app_of(&self, app: &str) -> Option<&str> {
        if self.is_peer() {
            return self.end_of(app).map(|e| e.app.as_str());
        }
        self.ends
            .iter()
            .find(|e| e.app != app)
            .map(|e| e.app.as_str())
    }

    pub fn involves(&self, app: &str) -> bool {
        self.end_of(app).is_some()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    pub id: u32,
    pub address: String,
    pub netns: String,
}

/// A hook waiting to run on a unit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QueuedHook {
    pub seq: u64,
    pub unit: String,
    pub hook: Hook,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Hook {
    Install,
    Start,
    Stop,
    Remove,
    ConfigChanged,
    UpgradeCharm,
    UpdateStatus,
    LeaderElected,
    LeaderSettingsChanged,
    RelationCreated {
        rel: u64,
    },
    RelationJoined {
        rel: u64,
        remote: String,
    },
    RelationChanged {
        rel: u64,
        /// `None` for an application-bag change.
        remote: Option<String>,
        remote_app: String,
    },
    RelationDeparted {
        rel: u64,
        remote: String,
        departing: String,
    },
    RelationBroken {
        rel: u64,
    },
    /// Any other hook name, fired by `jujusim fire`.
    Other {
        name: String,
    },
}

impl Hook {
    pub fn relation_id(&self) -> Option<u64> {
        match self {
            Hook::RelationCreated { rel }
            | Hook::RelationJoined { rel, .. }
            | Hook::RelationChanged { rel, .. }
            | Hook::RelationDeparted { rel, .. }
            | Hook::RelationBroken { rel } => Some(*rel),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    pub id: u64,
    pub operation: u64,
    pub unit: String,
    pub action: String,
    pub params: Value,
    /// `pending`, `running`, `completed`, `failed`.
    pub status: String,
    pub message: String,
    pub results: serde_json::Map<String, Value>,
    pub logs: Vec<(String, String)>,
    pub enqueued: String,
    pub completed: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub name: String,
    pub uuid: String,
    pub juju_version: String,
    /// `N` of the model's bridge `jsim<N>` and subnet 198.18.N.0/24, once allocated.
    pub net_index: Option<u8>,
    pub next_machine: u32,
    pub next_relation_id: u64,
    /// Operation and task ids share one sequence, as in Juju 3.
    pub next_action_id: u64,
    pub next_hook_seq: u64,
    pub applications: BTreeMap<String, Application>,
    pub units: BTreeMap<String, Unit>,
    pub relations: BTreeMap<u64, Relation>,
    pub machines: BTreeMap<u32, Machine>,
    pub queue: Vec<QueuedHook>,
    pub tasks: BTreeMap<u64, Task>,
}

impl Model {
    pub fn new(name: &str) -> Model {
        Model {
            name: name.to_string(),
            uuid: random_uuid(),
            juju_version: DEFAULT_JUJU_VERSION.to_string(),
            net_index: None,
            next_machine: 0,
            next_relation_id: 0,
            next_action_id: 1,
            next_hook_seq: 0,
            applications: BTreeMap::new(),
            units: BTreeMap::new(),
            relations: BTreeMap::new(),
            machines: BTreeMap::new(),
            queue: Vec::new(),
            tasks: BTreeMap::new(),
        }
    }

    /// Units of `app`, in unit-number order.
    pub fn units_of(&self, app: &str) -> Vec<String> {
        let mut units: Vec<&Unit> = self.units.values().filter(|u| u.app == app).collect();
        units.sort_by_key(|u| u.number);
        units.into_iter().map(|u| u.name.clone()).collect()
    }

    /// Every unit name, sorted by application then number.
    pub fn unit_names_sorted(&self) -> Vec<String> {
        let mut units: Vec<&Unit> = self.units.values().collect();
        units.sort_by(|a, b| (&a.app, a.number).cmp(&(&b.app, b.number)));
        units.into_iter().map(|u| u.name.clone()).collect()
    }

    /// Whether `observer` can see `other`'s unit bag in relation `rel` (§6.3): a unit of the
    /// remote application (another peer for peers), on the same machine in container scope.
    pub fn can_see(&self, rel: &Relation, observer: &str, other: &str) -> bool {
        if observer == other {
            return false;
        }
        let (Some(o), Some(t)) = (self.units.get(observer), self.units.get(other)) else {
            return false;
        };
        let apps_ok = if rel.is_peer() {
            o.app == t.app
        } else {
            o.app != t.app && rel.involves(&o.app) && rel.involves(&t.app)
        };
        apps_ok && (!rel.container || o.machine == t.machine)
    }

    pub fn enqueue(&mut self, unit: &str, hook: Hook) {
        let seq = self.next_hook_seq;
        self.next_hook_seq += 1;
        self.queue.push(QueuedHook {
            seq,
            unit: unit.to_string(),
            hook,
        });
    }

    /// Enqueue unless the same hook is already waiting for that unit (Juju coalesces
    /// `-changed`, `config-changed`, `leader-settings-changed`: the next run reads fresh data).
    pub fn enqueue_coalesced(&mut self, unit: &str, hook: Hook) {
        if !self.queue.iter().any(|q| q.unit == unit && q.hook == hook) {
            self.enqueue(unit, hook);
        }
    }

    pub fn set_workload_status(&mut self, unit: &str, status: Status) {
        self.set_workload_status_at(unit, status, now_rfc3339());
    }

    /// Records a workload status set at `since` (a `status-set` call's own time).
    pub fn set_workload_status_at(&mut self, unit: &str, status: Status, since: String) {
        if let Some(u) = self.units.get_mut(unit) {
            u.history.push(HistoryEntry {
                kind: "workload".into(),
                status: status.status.clone(),
                message: status.message.clone(),
                since: since.clone(),
            });
            u.workload = StatusEntry { status, since };
        }
    }

    pub fn set_agent_status(&mut self, unit: &str, status: &str, message: &str) {
        if let Some(u) = self.units.get_mut(unit) {
            if u.agent.status.status == status && u.agent.status.message == message {
                return;
            }
            let entry = StatusEntry::new(status, message);
            u.history.push(HistoryEntry {
                kind: "juju-unit".into(),
                status: status.into(),
                message: message.into(),
                since: entry.since.clone(),
            });
            u.agent = entry;
        }
    }
}

/// The files of one model directory.
#[derive(Debug, Clone)]
pub struct ModelDir {
    pub root: PathBuf,
}

impl ModelDir {
    pub fn new(root: PathBuf) -> ModelDir {
        ModelDir { root }
    }
    pub fn state_file(&self) -> PathBuf {
        self.root.join("model.json")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }
    /// Present while `destroy` runs: `settle` stops instead of starting another hook.
    pub fn destroying_marker(&self) -> PathBuf {
        self.root.join("destroying")
    }
    pub fn debug_log(&self) -> PathBuf {
        self.root.join("debug-log")
    }
    pub fn tools_dir(&self) -> PathBuf {
        self.root.join("tools")
    }
    pub fn app_charm_dir(&self, app: &str, revision: u32) -> PathBuf {
        self.root.join("charms").join(format!("{app}-{revision}"))
    }
    pub fn unit_dir(&self, unit: &str) -> PathBuf {
        self.root.join("units").join(unit.replace('/', "-"))
    }
    pub fn unit_charm_dir(&self, unit: &str) -> PathBuf {
        self.unit_dir(unit).join("charm")
    }
    pub fn machine_dir(&self, machine: u32) -> PathBuf {
        self.root.join("machines").join(machine.to_string())
    }

    /// Takes the model lock for the lifetime of the returned guard: two CLI commands never
    /// interleave their reads and writes.
    pub fn lock(&self) -> Result<nix::fcntl::Flock<File>, ModelError> {
        let path = self.lock_file();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
            ModelError::Lock {
                path: path.display().to_string(),
                source: e,
            }
        })
    }

    pub fn exists(&self) -> bool {
        self.state_file().is_file()
    }

    pub fn load(&self) -> Result<Model, ModelError> {
        let path = self.state_file();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelError::NotAModel {
                    path: self.root.display().to_string(),
                })
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|source| ModelError::Corrupt {
            path: path.display().to_string(),
            source,
        })
    }

    /// Writes the state atomically: temp file, fsync, rename.
    pub fn save(&self, model: &Model) -> Result<(), ModelError> {
        let path = self.state_file();
        let bytes = serde_json::to_vec_pretty(model).map_err(|source| ModelError::Corrupt {
            path: path.display().to_string(),
            source,
        })?;
        write_atomic(&path, &bytes)
    }

    /// Appends lines to the debug log (`jujusim debug-log`).
    pub fn append_log(&self, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        let mut text = lines.join("\n");
        text.push('\n');
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.debug_log())
        {
            let _ = f.write_all(text.as_bytes());
        }
    }
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Random bytes from the kernel.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if let Ok(mut f) = File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut buf);
    }
    buf
}

pub fn random_uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A non-negative random int63, as in `JUJU_CONTEXT_ID`.
pub fn random_int63() -> u64 {
    u64::from_le_bytes(random_bytes::<8>()) >> 1
}

/// Current UTC time as `2024-01-02T03:04:05Z`.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_utc(secs)
}

pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting_matches_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_704_164_645), "2024-01-02T03:04:05Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn uuid_has_version_4_shape() {
        let u = random_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let md = ModelDir::new(dir.path().to_path_buf());
        let mut m = Model::new("t");
        m.enqueue("a/0", Hook::Install);
        md.save(&m).unwrap();
        let back = md.load().unwrap();
        assert_eq!(back.queue, m.queue);
        assert!(!md.state_file().with_extension("tmp").exists());
    }

    #[test]
    fn coalescing_keeps_one_pending_copy() {
        let mut m = Model::new("t");
        m.enqueue_coalesced("a/0", Hook::ConfigChanged);
        m.enqueue_coalesced("a/0", Hook::ConfigChanged);
        m.enqueue_coalesced("a/1", Hook::ConfigChanged);
        assert_eq!(m.queue.len(), 2);
    }
}

#[cfg(test)]
mod visibility_tests {
    use super::*;
    use crate::charm::Role;

    fn unit(name: &str, machine: u32) -> Unit {
        let (app, n) = name.split_once('/').unwrap();
        Unit {
            name: name.into(),
            app: app.into(),
            number: n.parse().unwrap(),
            machine,
            principal: None,
            life: Life::Alive,
            installed: true,
            started: true,
            status_set: false,
            workload: StatusEntry::default(),
            agent: StatusEntry::default(),
            history: vec![],
            failed_hook: None,
            opened_ports: Default::default(),
            charm_state: Default::default(),
            charm_state_exists: false,
            relations: Default::default(),
            charm_revision: 0,
        }
    }

    fn relation(ends: &[(&str, &str, Role)], container: bool) -> Relation {
        Relation {
            id: 0,
            ends: ends
                .iter()
                .map(|(a, e, r)| RelationEnd {
                    app: a.to_string(),
                    endpoint: e.to_string(),
                    role: *r,
                })
                .collect(),
            interface: "x".into(),
            container,
            unit_bags: Default::default(),
            app_bags: Default::default(),
            in_scope: Default::default(),
            life: Life::Alive,
        }
    }

    #[test]
    fn who_sees_whose_bag() {
        let mut m = Model::new("t");
        for (n, machine) in [
            ("web/0", 0),
            ("web/1", 1),
            ("db/0", 2),
            ("sub/0", 0),
            ("sub/1", 1),
            ("other/0", 3),
        ] {
            m.units.insert(n.into(), unit(n, machine));
        }
        let regular = relation(
            &[
                ("web", "db", Role::Requirer),
                ("db", "server", Role::Provider),
            ],
            false,
        );
        let peer = relation(&[("web", "cluster", Role::Peer)], false);
        let container = relation(
            &[
                ("sub", "host", Role::Requirer),
                ("web", "juju-info", Role::Provider),
            ],
            true,
        );
        let cases: &[(&Relation, &str, &str, bool)] = &[
            (&regular, "web/0", "db/0", true),
            (&regular, "db/0", "web/1", true),
            (&regular, "web/0", "web/1", false),
            (&regular, "other/0", "db/0", false),
            (&peer, "web/0", "web/1", true),
            (&peer, "web/0", "web/0", false),
            (&container, "sub/0", "web/0", true),
            (&container, "sub/0", "web/1", false),
            (&container, "web/1", "sub/1", true),
        ];
        for (rel, observer, other, want) in cases {
            assert_eq!(
                m.can_see(rel, observer, other),
                *want,
                "{} {observer} -> {other}",
                rel.key()
            );
        }
        assert_eq!(regular.key(), "web:db db:server");
        assert_eq!(peer.key(), "web:cluster");
        assert_eq!(regular.remote_app_of("db"), Some("web"));
        assert_eq!(peer.remote_app_of("web"), Some("web"));
    }
}
