//! The model operations the CLI performs, and the hooks each one queues in Juju's order
//! (spec §2): deploy, add/remove unit, relate/remove-relation (peers at deploy, subordinates in
//! container scope), remove-application, config, leadership, upgrade-charm, fire, destroy.
//! Running the queued hooks is `engine::Sim::settle`.

use crate::charm::{self, Charm, Role};
use crate::engine::{status, user, Sim, SimError};
use crate::machine;
use crate::model::{
    Application, Hook, Life, Model, ModelDir, Relation, RelationEnd, StatusEntry, Unit,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Creates a model directory.
pub fn init(root: &Path, name: Option<&str>, juju_version: Option<&str>) -> Result<(), SimError> {
    if machine::is_under_bound_path(root) {
        return user(format!(
            "model directory {} is under a path each machine replaces ({}); choose another",
            root.display(),
            machine::MACHINE_BINDS
                .iter()
                .map(|b| b.target)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    std::fs::create_dir_all(root)
        .map_err(|e| SimError::User(format!("{}: {e}", root.display())))?;
    let dir = ModelDir::new(root.to_path_buf());
    let _lock = dir.lock()?;
    if dir.exists() {
        return user(format!("{} already holds a model", root.display()));
    }
    let default_name = root
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    let mut model = Model::new(name.unwrap_or(&default_name));
    if let Some(v) = juju_version {
        model.juju_version = v.to_string();
    }
    dir.save(&model)?;
    refresh_tools_dir(&dir)
}

/// Links every tool name to this binary in the model's tools dir (the first `PATH` entry).
pub fn refresh_tools_dir(dir: &ModelDir) -> Result<(), SimError> {
    let tools = dir.tools_dir();
    let exe = std::env::current_exe()
        .map_err(|e| SimError::User(format!("cannot find the jujusim binary: {e}")))?;
    std::fs::create_dir_all(&tools)
        .map_err(|e| SimError::User(format!("{}: {e}", tools.display())))?;
    for name in crate::tools::TOOL_NAMES {
        let link = tools.join(name);
        if std::fs::read_link(&link).ok().as_deref() == Some(exe.as_path()) {
            continue;
        }
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&exe, &link)
            .map_err(|e| SimError::User(format!("{}: {e}", link.display())))?;
    }
    Ok(())
}

/// `app` or `app:endpoint`.
fn split_endpoint(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once(':') {
        Some((a, e)) => (a, Some(e)),
        None => (spec, None),
    }
}

impl Sim {
    fn app_mut(&mut self, name: &str) -> Result<&mut Application, SimError> {
        self.model
            .applications
            .get_mut(name)
            .ok_or_else(|| SimError::User(format!("application {name:?} not found")))
    }

    fn app(&self, name: &str) -> Result<&Application, SimError> {
        self.model
            .applications
            .get(name)
            .ok_or_else(|| SimError::User(format!("application {name:?} not found")))
    }

    pub fn unit(&self, name: &str) -> Result<&Unit, SimError> {
        self.model
            .units
            .get(name)
            .ok_or_else(|| SimError::User(format!("unit {name:?} not found")))
    }

    /// `deploy CHARM [APP] [-n N] [--config k=v]`.
    pub fn deploy(
        &mut self,
        source: &Path,
        app_name: Option<&str>,
        num_units: Option<u32>,
        config: &[(String, String)],
    ) -> Result<String, SimError> {
        let source = source
            .canonicalize()
            .map_err(|e| SimError::User(format!("charm {}: {e}", source.display())))?;
        let incoming = self.dir.root.join("charms").join(".incoming");
        charm::unpack(&source, &incoming)?;
        let charm = Charm::load(&incoming)?;
        let app = app_name.unwrap_or(&charm.name).to_string();
        if !valid_app_name(&app) {
            return user(format!("invalid application name {app:?}"));
        }
        if self.model.applications.contains_key(&app) {
            return user(format!(
                "cannot add application {app:?}: application already exists"
            ));
        }
        if charm.subordinate && num_units.is_some_and(|n| n != 1) {
            return user("cannot use --num-units or --to with subordinate application");
        }
        let values = parse_config(&charm, config)?;
        let dest = self.dir.app_charm_dir(&app, 0);
        if dest.exists() {
            std::fs::remove_dir_all(&dest)
                .map_err(|e| SimError::User(format!("{}: {e}", dest.display())))?;
        }
        std::fs::rename(&incoming, &dest)
            .map_err(|e| SimError::User(format!("{}: {e}", dest.display())))?;
        self.model.applications.insert(
            app.clone(),
            Application {
                name: app.clone(),
                charm_name: charm.name.clone(),
                charm_source: source.display().to_string(),
                charm_revision: 0,
                config: values,
                leader: None,
                leader_settings: Default::default(),
                status: StatusEntry::new("unknown", ""),
                status_set: false,
                workload_version: String::new(),
                next_unit: 0,
                subordinate: charm.subordinate,
                life: Life::Alive,
            },
        );
        for ep in charm.peer_endpoints() {
            let id = self.next_relation_id();
            self.model.relations.insert(
                id,
                Relation {
                    id,
                    ends: vec![RelationEnd {
                        app: app.clone(),
                        endpoint: ep.name.clone(),
                        role: Role::Peer,
                    }],
                    interface: ep.interface.clone(),
                    container: false,
                    unit_bags: BTreeMap::new(),
                    app_bags: BTreeMap::new(),
                    in_scope: Default::default(),
                    life: Life::Alive,
                },
            );
        }
        if !charm.subordinate {
            for _ in 0..num_units.unwrap_or(1) {
                self.create_unit(&app, None)?;
            }
        }
        self.save()?;
        Ok(app)
    }

    fn next_relation_id(&mut self) -> u64 {
        let id = self.model.next_relation_id;
        self.model.next_relation_id += 1;
        id
    }

    /// `add-unit APP [-n N]`.
    pub fn add_units(&mut self, app: &str, n: u32) -> Result<Vec<String>, SimError> {
        let a = self.app(app)?;
        if a.subordinate {
            return user(format!(
                "cannot add unit to application {app:?}: application is a subordinate"
            ));
        }
        if a.life != Life::Alive {
            return user(format!("application {app:?} is dying"));
        }
        let mut names = Vec::new();
        for _ in 0..n {
            names.push(self.create_unit(app, None)?);
        }
        self.save()?;
        Ok(names)
    }

    /// Whether `unit` takes part in relation `rel` (container scope: only with the principal).
    fn participates(&self, unit: &Unit, rel: &Relation) -> bool {
        if !rel.involves(&unit.app) || rel.life != Life::Alive {
            return false;
        }
        if !rel.container || rel.is_peer() {
            return true;
        }
        match &unit.principal {
            None => true,
            Some(p) => {
                let papp = p.split('/').next().unwrap_or_default();
                rel.remote_app_of(&unit.app) == Some(papp)
            }
        }
    }

    /// Creates a unit (with its machine, or on its principal's) and queues its setup hooks
    /// (§2.1): install, relation-created for existing relations, leadership, config-changed.
    fn create_unit(&mut self, app: &str, principal: Option<&str>) -> Result<String, SimError> {
        let (number, revision) = {
            let a = self
                .model
                .applications
                .get_mut(app)
                .ok_or_else(|| SimError::User(format!("application {app:?} not found")))?;
            let n = a.next_unit;
            a.next_unit += 1;
            (n, a.charm_revision)
        };
        let name = format!("{app}/{number}");
        let machine_id = match principal {
            Some(p) => self.unit(p)?.machine,
            None => self.create_machine()?,
        };
        charm::unpack(
            &self.dir.app_charm_dir(app, revision),
            &self.dir.unit_charm_dir(&name),
        )?;
        self.model.units.insert(
            name.clone(),
            Unit {
                name: name.clone(),
                app: app.to_string(),
                number,
                machine: machine_id,
                principal: principal.map(str::to_string),
                life: Life::Alive,
                installed: false,
                started: false,
                status_set: false,
                workload: StatusEntry::new("waiting", "agent initialising"),
                agent: StatusEntry::new("allocating", ""),
                history: Vec::new(),
                failed_hook: None,
                opened_ports: Default::default(),
                charm_state: Default::default(),
                charm_state_exists: false,
                relations: BTreeMap::new(),
                charm_revision: revision,
            },
        );
        let is_leader = {
            let a = self.app_mut(app)?;
            if a.leader.is_none() {
                a.leader = Some(name.clone());
            }
            a.leader.as_deref() == Some(name.as_str())
        };
        self.model.enqueue(&name, Hook::Install);
        let unit = self.model.units[&name].clone();
        let rels: Vec<(u64, Relation)> = self
            .model
            .relations
            .iter()
            .map(|(id, r)| (*id, r.clone()))
            .collect();
        for (id, rel) in &rels {
            if self.participates(&unit, rel) {
                self.model
                    .enqueue(&name, Hook::RelationCreated { rel: *id });
            }
        }
        self.model.enqueue(
            &name,
            if is_leader {
                Hook::LeaderElected
            } else {
                Hook::LeaderSettingsChanged
            },
        );
        self.model.enqueue(&name, Hook::ConfigChanged);
        if principal.is_none() {
            // Subordinates related in container scope get a unit on this machine.
            for (_, rel) in &rels {
                if !rel.container || !rel.involves(app) || rel.life != Life::Alive {
                    continue;
                }
                if let Some(other) = rel.remote_app_of(app).map(str::to_string) {
                    if self
                        .model
                        .applications
                        .get(&other)
                        .is_some_and(|a| a.subordinate)
                    {
                        self.create_unit(&other, Some(&name))?;
                    }
                }
            }
        }
        Ok(name)
    }

    fn create_machine(&mut self) -> Result<u32, SimError> {
        machine::require_root()?;
        let net = match self.model.net_index {
            Some(n) => n,
            None => {
                let n = machine::create_network(&self.dir.root)?;
                self.model.net_index = Some(n);
                self.save()?;
                n
            }
        };
        let id = self.model.next_machine;
        self.model.next_machine += 1;
        let address = machine::create_machine(net, id, &self.dir.machine_dir(id))?;
        self.model.machines.insert(
            id,
            crate::model::Machine {
                id,
                address,
                netns: machine::netns_name(net, id),
            },
        );
        Ok(id)
    }

    /// `relate A[:ep] B[:ep]`: endpoint and interface checks from metadata, then
    /// relation-created on every unit of both sides (§2.2); joins follow as units enter scope.
    pub fn relate(&mut self, a: &str, b: &str) -> Result<u64, SimError> {
        let (app_a, ep_a) = split_endpoint(a);
        let (app_b, ep_b) = split_endpoint(b);
        for app in [app_a, app_b] {
            if self.app(app)?.life != Life::Alive {
                return user(format!("cannot add relation: application {app:?} is dying"));
            }
        }
        let charm_a = self.app_charm(app_a)?;
        let charm_b = self.app_charm(app_b)?;
        let mut candidates = Vec::new();
        for ea in charm_a.endpoints.values() {
            for eb in charm_b.endpoints.values() {
                let roles_fit = matches!(
                    (ea.role, eb.role),
                    (Role::Provider, Role::Requirer) | (Role::Requirer, Role::Provider)
                );
                if roles_fit
                    && ea.interface == eb.interface
                    && ep_a.is_none_or(|e| e == ea.name)
                    && ep_b.is_none_or(|e| e == eb.name)
                {
                    candidates.push((ea.clone(), eb.clone()));
                }
            }
        }
        // Juju uses the implicit juju-info relation only when nothing explicit fits.
        if candidates.len() > 1 {
            candidates.retain(|(x, y)| x.name != "juju-info" && y.name != "juju-info");
        }
        let (ea, eb) = match candidates.len() {
            0 => return user(format!("no relations found between {a:?} and {b:?}")),
            1 => candidates.remove(0),
            _ => {
                let list = candidates
                    .iter()
                    .map(|(x, y)| format!("\"{app_a}:{} {app_b}:{}\"", x.name, y.name))
                    .collect::<Vec<_>>()
                    .join("; ");
                return user(format!(
                    "ambiguous relation: \"{a} {b}\" could refer to {list}"
                ));
            }
        };
        let mut ends = vec![
            RelationEnd {
                app: app_a.to_string(),
                endpoint: ea.name.clone(),
                role: ea.role,
            },
            RelationEnd {
                app: app_b.to_string(),
                endpoint: eb.name.clone(),
                role: eb.role,
            },
        ];
        // Juju's key lists the requirer first.
        ends.sort_by_key(|e| e.role != Role::Requirer);
        let key = ends
            .iter()
            .map(|e| format!("{}:{}", e.app, e.endpoint))
            .collect::<Vec<_>>()
            .join(" ");
        if self
            .model
            .relations
            .values()
            .any(|r| r.ends == ends && r.life == Life::Alive)
        {
            return user(format!(
                "cannot add relation \"{key}\": relation {key} already exists"
            ));
        }
        let container = ea.container_scope || eb.container_scope;
        let subordinate_app = [app_a, app_b]
            .into_iter()
            .find(|x| {
                self.model
                    .applications
                    .get(*x)
                    .is_some_and(|a| a.subordinate)
            })
            .map(str::to_string);
        if container && subordinate_app.is_none() {
            return user(format!(
                "cannot add relation \"{key}\": a container-scoped relation needs a subordinate application"
            ));
        }
        let id = self.next_relation_id();
        let rel = Relation {
            id,
            ends,
            interface: ea.interface.clone(),
            container,
            unit_bags: BTreeMap::new(),
            app_bags: BTreeMap::new(),
            in_scope: Default::default(),
            life: Life::Alive,
        };
        self.model.relations.insert(id, rel.clone());
        for unit in self.model.unit_names_sorted() {
            let u = self.model.units[&unit].clone();
            if u.life == Life::Alive && self.participates(&u, &rel) {
                self.model.enqueue(&unit, Hook::RelationCreated { rel: id });
            }
        }
        if container {
            if let Some(sub) = subordinate_app {
                let principal_app = rel.remote_app_of(&sub).unwrap_or_default().to_string();
                let principal_is_sub = self
                    .model
                    .applications
                    .get(&principal_app)
                    .is_some_and(|a| a.subordinate);
                if !principal_is_sub {
                    for p in self.model.units_of(&principal_app) {
                        if self.is_alive(&p) {
                            self.create_unit(&sub, Some(&p))?;
                        }
                    }
                }
            }
        }
        self.save()?;
        Ok(id)
    }

    /// Finds a relation by id or by its two endpoint specs.
    pub fn find_relation(&self, a: &str, b: Option<&str>) -> Result<u64, SimError> {
        if b.is_none() {
            if let Ok(id) = a.parse::<u64>() {
                return if self.model.relations.contains_key(&id) {
                    Ok(id)
                } else {
                    user(format!("relation {id} not found"))
                };
            }
        }
        let Some(b) = b else {
            return user("expected a relation id or two endpoints");
        };
        let (app_a, ep_a) = split_endpoint(a);
        let (app_b, ep_b) = split_endpoint(b);
        let matches: Vec<u64> = self
            .model
            .relations
            .values()
            .filter(|r| {
                !r.is_peer()
                    && r.ends
                        .iter()
                        .any(|e| e.app == app_a && ep_a.is_none_or(|x| x == e.endpoint))
                    && r.ends
                        .iter()
                        .any(|e| e.app == app_b && ep_b.is_none_or(|x| x == e.endpoint))
            })
            .map(|r| r.id)
            .collect();
        match matches.as_slice() {
            [id] => Ok(*id),
            [] => user(format!("relation \"{a} {b}\" not found")),
            _ => user(format!(
                "ambiguous relation: \"{a} {b}\" matches several relations"
            )),
        }
    }

    /// `remove-relation`: every unit in scope gets `-departed` per remote unit, then `-broken`
    /// (§2.3); subordinate units that lose their principal relation are removed.
    pub fn remove_relation(&mut self, id: u64) -> Result<(), SimError> {
        let rel = self
            .model
            .relations
            .get_mut(&id)
            .ok_or_else(|| SimError::User(format!("relation {id} not found")))?;
        if rel.is_peer() {
            return user(format!(
                "cannot remove relation {id}: peer relations are removed with their application"
            ));
        }
        if rel.life == Life::Dying {
            return user(format!("relation {id} is already being removed"));
        }
        rel.life = Life::Dying;
        let rel = rel.clone();
        // Subordinates whose container relation to their principal goes are removed.
        let orphaned: Vec<String> = if rel.container {
            self.model
                .units
                .values()
                .filter(|u| u.principal.is_some() && u.relations.contains_key(&id))
                .map(|u| u.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        for unit in self.model.unit_names_sorted() {
            if orphaned.contains(&unit) {
                continue;
            }
            let Some(ur) = self.model.units[&unit].relations.get(&id).cloned() else {
                continue;
            };
            for m in &ur.members {
                self.model.enqueue(
                    &unit,
                    Hook::RelationDeparted {
                        rel: id,
                        remote: m.clone(),
                        departing: m.clone(),
                    },
                );
            }
            self.model.enqueue(&unit, Hook::RelationBroken { rel: id });
        }
        // Units that never entered scope yet simply don't.
        self.model.queue.retain(|q| {
            !matches!(q.hook, Hook::RelationCreated { rel } if rel == id)
                && !matches!(&q.hook, Hook::RelationJoined { rel, .. } | Hook::RelationChanged { rel, .. } if *rel == id)
        });
        for unit in orphaned {
            self.teardown_unit(&unit, false);
        }
        self.save()?;
        Ok(())
    }

    /// Queues a dying unit's teardown (§2.3): for each relation `-departed` per member then
    /// `-broken` (peers: departed only), the remote side's `-departed`, then stop and remove.
    /// Its subordinates go the same way; leadership moves on.
    pub fn teardown_unit(&mut self, unit: &str, app_dying: bool) {
        let Some(u) = self.model.units.get_mut(unit) else {
            return;
        };
        if u.life == Life::Dying {
            return;
        }
        u.life = Life::Dying;
        let u = u.clone();
        // What it has not run yet, it never will (apart from a retry after resolve).
        self.model.queue.retain(|q| q.unit != unit);
        for (rel_id, ur) in &u.relations {
            let Some(rel) = self.model.relations.get(rel_id).cloned() else {
                continue;
            };
            for m in &ur.members {
                self.model.enqueue(
                    unit,
                    Hook::RelationDeparted {
                        rel: *rel_id,
                        remote: m.clone(),
                        departing: unit.to_string(),
                    },
                );
            }
            if !rel.is_peer() {
                self.model
                    .enqueue(unit, Hook::RelationBroken { rel: *rel_id });
            }
            for other in rel.in_scope.iter().filter(|o| o.as_str() != unit) {
                // A join the other unit has not seen yet is withdrawn instead.
                self.model.queue.retain(|q| {
                    let withdrawn = match &q.hook {
                        Hook::RelationJoined { rel, remote } => rel == rel_id && remote == unit,
                        Hook::RelationChanged {
                            rel,
                            remote: Some(r),
                            ..
                        } => rel == rel_id && r == unit,
                        _ => false,
                    };
                    !(q.unit == *other && withdrawn)
                });
                let knows = self
                    .model
                    .units
                    .get(other)
                    .and_then(|o| o.relations.get(rel_id))
                    .is_some_and(|r| r.members.contains(unit));
                if knows {
                    self.model.enqueue(
                        other,
                        Hook::RelationDeparted {
                            rel: *rel_id,
                            remote: unit.to_string(),
                            departing: unit.to_string(),
                        },
                    );
                }
            }
        }
        self.model.enqueue(unit, Hook::Stop);
        self.model.enqueue(unit, Hook::Remove);
        let subs: Vec<String> = self
            .model
            .units
            .values()
            .filter(|s| s.principal.as_deref() == Some(unit))
            .map(|s| s.name.clone())
            .collect();
        for s in subs {
            self.teardown_unit(&s, app_dying);
        }
        if !app_dying {
            self.move_leadership_from(&u.app, unit);
        }
    }

    fn move_leadership_from(&mut self, app: &str, unit: &str) {
        let is_leader = self
            .model
            .applications
            .get(app)
            .is_some_and(|a| a.leader.as_deref() == Some(unit));
        if !is_leader {
            return;
        }
        let next = self
            .model
            .units_of(app)
            .into_iter()
            .find(|n| n != unit && self.is_alive(n));
        if let Some(a) = self.model.applications.get_mut(app) {
            a.leader = next.clone();
        }
        if let Some(next) = next {
            self.model.enqueue(&next, Hook::LeaderElected);
            for other in self.model.units_of(app) {
                if other != next && other != unit && self.is_alive(&other) {
                    self.model
                        .enqueue_coalesced(&other, Hook::LeaderSettingsChanged);
                }
            }
        }
    }

    /// `remove-unit UNIT...`.
    pub fn remove_units(&mut self, units: &[String]) -> Result<(), SimError> {
        for unit in units {
            let u = self.unit(unit)?;
            if u.principal.is_some() {
                return user(format!(
                    "unit {unit:?} is a subordinate: remove the relation to its principal instead"
                ));
            }
        }
        for unit in units {
            self.teardown_unit(unit, false);
        }
        self.save()
    }

    /// `remove-application APP`.
    pub fn remove_application(&mut self, app: &str) -> Result<(), SimError> {
        let a = self.app(app)?;
        if a.life == Life::Dying {
            return user(format!("application {app:?} is already being removed"));
        }
        self.app_mut(app)?.life = Life::Dying;
        for unit in self.model.units_of(app) {
            self.teardown_unit(&unit, true);
        }
        let rels: Vec<Relation> = self
            .model
            .relations
            .values()
            .filter(|r| r.involves(app))
            .cloned()
            .collect();
        for rel in rels {
            if let Some(r) = self.model.relations.get_mut(&rel.id) {
                r.life = Life::Dying;
            }
            if rel.is_peer() {
                continue;
            }
            for other in &rel.in_scope {
                if other.split('/').next() != Some(app) && self.is_alive(other) {
                    let sub_of_dying = self
                        .model
                        .units
                        .get(other)
                        .and_then(|o| o.principal.as_deref())
                        .is_some_and(|p| p.split('/').next() == Some(app));
                    if !sub_of_dying {
                        self.model
                            .enqueue(other, Hook::RelationBroken { rel: rel.id });
                    }
                }
            }
            // Subordinate units whose container relation dies go with it.
            if rel.container {
                let subs: Vec<String> = self
                    .model
                    .units
                    .values()
                    .filter(|u| u.principal.is_some() && u.relations.contains_key(&rel.id))
                    .map(|u| u.name.clone())
                    .collect();
                for s in subs {
                    self.teardown_unit(&s, false);
                }
            }
        }
        self.save()
    }

    /// `config APP k=v... [--reset k]`: validated like `juju config`; config-changed on every
    /// unit when the effective config changed.
    pub fn set_config(
        &mut self,
        app: &str,
        pairs: &[(String, String)],
        reset: &[String],
    ) -> Result<(), SimError> {
        let charm = self.app_charm(app)?;
        let before = self.effective_config(app, &charm);
        let values = parse_config(&charm, pairs)?;
        for key in reset {
            if !charm.config.contains_key(key) {
                return user(format!("unknown option {key:?}"));
            }
        }
        let a = self.app_mut(app)?;
        for key in reset {
            a.config.remove(key);
        }
        a.config.extend(values);
        if self.effective_config(app, &charm) != before {
            for unit in self.model.units_of(app) {
                if self.is_alive(&unit) {
                    self.model.enqueue_coalesced(&unit, Hook::ConfigChanged);
                }
            }
        }
        self.save()
    }

    /// `set-leader UNIT`: the new leader gets leader-elected, the others
    /// leader-settings-changed (§2.2).
    pub fn set_leader(&mut self, unit: &str) -> Result<(), SimError> {
        let app = self.unit(unit)?.app.clone();
        if !self.is_alive(unit) {
            return user(format!("unit {unit:?} is dying"));
        }
        let a = self.app_mut(&app)?;
        if a.leader.as_deref() == Some(unit) {
            return Ok(());
        }
        a.leader = Some(unit.to_string());
        self.model.enqueue(unit, Hook::LeaderElected);
        for other in self.model.units_of(&app) {
            if other != unit && self.is_alive(&other) {
                self.model
                    .enqueue_coalesced(&other, Hook::LeaderSettingsChanged);
            }
        }
        self.save()
    }

    /// `upgrade-charm APP CHARM`: the new charm replaces each unit's files (state files the
    /// charm wrote stay), then upgrade-charm and config-changed (§2.2).
    pub fn upgrade_charm(&mut self, app: &str, source: &Path) -> Result<u32, SimError> {
        let source = source
            .canonicalize()
            .map_err(|e| SimError::User(format!("charm {}: {e}", source.display())))?;
        let old = self.app_charm(app)?;
        let revision = self.app(app)?.charm_revision + 1;
        let dest = self.dir.app_charm_dir(app, revision);
        charm::unpack(&source, &dest)?;
        let charm = Charm::load(&dest)?;
        if charm.name != old.name {
            let _ = std::fs::remove_dir_all(&dest);
            return user(format!(
                "cannot upgrade application {app:?} to charm {:?}: the charm name differs ({:?})",
                charm.name, old.name
            ));
        }
        {
            let a = self.app_mut(app)?;
            a.charm_revision = revision;
            a.charm_source = source.display().to_string();
            // Values for options the new charm no longer has are dropped.
            a.config.retain(|k, _| charm.config.contains_key(k));
        }
        for unit in self.model.units_of(app) {
            let unit_dir = self.dir.unit_charm_dir(&unit);
            let mut src = dest.as_os_str().to_owned();
            src.push("/.");
            let out = std::process::Command::new("cp")
                .arg("-a")
                .arg(src)
                .arg(&unit_dir)
                .output()
                .map_err(|e| SimError::User(format!("cp: {e}")))?;
            if !out.status.success() {
                return user(format!(
                    "upgrading {unit}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            if let Some(u) = self.model.units.get_mut(&unit) {
                u.charm_revision = revision;
            }
            if self.is_alive(&unit) {
                self.model.enqueue(&unit, Hook::UpgradeCharm);
            }
        }
        self.save()?;
        Ok(revision)
    }

    /// `fire UNIT HOOK [-r ID] [--remote-unit U]`.
    pub fn fire(
        &mut self,
        unit: &str,
        hook: &str,
        rel: Option<u64>,
        remote: Option<&str>,
    ) -> Result<(), SimError> {
        let u = self.unit(unit)?.clone();
        let hook = match hook {
            "install" => Hook::Install,
            "start" => Hook::Start,
            "stop" => Hook::Stop,
            "remove" => Hook::Remove,
            "config-changed" => Hook::ConfigChanged,
            "upgrade-charm" => Hook::UpgradeCharm,
            "update-status" => Hook::UpdateStatus,
            "leader-elected" => Hook::LeaderElected,
            "leader-settings-changed" => Hook::LeaderSettingsChanged,
            name => match name.rsplit_once("-relation-") {
                Some((ep, kind)) => {
                    let rel = match rel {
                        Some(r) => r,
                        None => {
                            let ids: Vec<u64> = u
                                .relations
                                .keys()
                                .copied()
                                .filter(|id| {
                                    self.model
                                        .relations
                                        .get(id)
                                        .and_then(|r| r.end_of(&u.app))
                                        .is_some_and(|e| e.endpoint == ep)
                                })
                                .collect();
                            match ids.as_slice() {
                                [one] => *one,
                                [] => {
                                    return user(format!(
                                        "unit {unit:?} has no relation on endpoint {ep:?}"
                                    ))
                                }
                                _ => {
                                    return user(format!(
                                        "unit {unit:?} has several {ep:?} relations: pass -r ID"
                                    ))
                                }
                            }
                        }
                    };
                    let r = self
                        .model
                        .relations
                        .get(&rel)
                        .ok_or_else(|| SimError::User(format!("relation {rel} not found")))?;
                    if r.end_of(&u.app).map(|e| e.endpoint.as_str()) != Some(ep) {
                        return user(format!(
                            "relation {rel} is not on endpoint {ep:?} of {unit}"
                        ));
                    }
                    let remote_app = r.remote_app_of(&u.app).unwrap_or_default().to_string();
                    let members = u
                        .relations
                        .get(&rel)
                        .map(|x| x.members.clone())
                        .unwrap_or_default();
                    let remote = remote
                        .map(str::to_string)
                        .or_else(|| members.iter().next().cloned());
                    let need_remote = || {
                        remote.clone().ok_or_else(|| {
                            SimError::User(format!(
                                "{name} needs a remote unit: pass --remote-unit U"
                            ))
                        })
                    };
                    match kind {
                        "created" => Hook::RelationCreated { rel },
                        "broken" => Hook::RelationBroken { rel },
                        "joined" => Hook::RelationJoined {
                            rel,
                            remote: need_remote()?,
                        },
                        "changed" => Hook::RelationChanged {
                            rel,
                            remote,
                            remote_app,
                        },
                        "departed" => {
                            let r = need_remote()?;
                            Hook::RelationDeparted {
                                rel,
                                remote: r.clone(),
                                departing: r,
                            }
                        }
                        _ => Hook::Other {
                            name: name.to_string(),
                        },
                    }
                }
                None => Hook::Other {
                    name: name.to_string(),
                },
            },
        };
        self.model.enqueue(unit, hook);
        self.save()
    }

    /// `destroy`: kills every process in the model's machines, removes their namespaces, the
    /// bridge and the subnet claim, and forgets the model state.
    pub fn destroy(&mut self) -> Result<(), SimError> {
        if let Some(net) = self.model.net_index {
            for id in self.model.machines.keys().copied().collect::<Vec<_>>() {
                machine::destroy_machine(net, id)?;
            }
            machine::destroy_network(net, &self.dir.root);
        }
        self.model.machines.clear();
        self.model.net_index = None;
        let _ = std::fs::remove_file(self.dir.state_file());
        Ok(())
    }
}

fn valid_app_name(name: &str) -> bool {
    let re = regex::Regex::new(r"^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$").expect("static");
    re.is_match(name)
}

/// Validates `k=v` config pairs against the charm (Juju's `unknown option "k"` and type errors).
pub fn parse_config(
    charm: &Charm,
    pairs: &[(String, String)],
) -> Result<BTreeMap<String, Value>, SimError> {
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        let opt = charm
            .config
            .get(k)
            .ok_or_else(|| SimError::User(format!("unknown option {k:?}")))?;
        out.insert(
            k.clone(),
            charm::parse_option_value(k, opt, v).map_err(SimError::User)?,
        );
    }
    Ok(out)
}

/// For the "installing" status set before a unit's first hook.
pub fn initial_status() -> crate::context::Status {
    status("waiting", "agent initialising")
}
