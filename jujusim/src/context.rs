//! The hook context: everything one hook or action run can see, and what it changed.
//!
//! This is the contract between the two halves of the simulator. The runner (`runner`, `model`)
//! builds a `HookContext` from the model before it starts a hook, serves tool calls against it,
//! drains `immediate` after every call (spec `juju-hook-tools.md` §1.5 "Applied immediately") and,
//! only when the hook exits 0, commits the buffered parts (relation bags, ports, charm state)
//! to the model (§1.5 "Exit 0", §6.5). The tools (`tools`) read and change only this struct:
//! they never touch the model directory, so one tool call costs a struct lookup.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A string->string bag (relation unit or app settings; §6.1). An empty value never stays in
/// a bag: writing `""` deletes the key.
pub type Bag = BTreeMap<String, String>;

/// Everything a hook or action can see and change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HookContext {
    /// `JUJU_CONTEXT_ID`, e.g. `web/0-install-5577006791947779410`.
    pub context_id: String,
    /// The local unit, e.g. `web/0`.
    pub unit: String,
    /// The local application, e.g. `web`.
    pub app: String,
    pub model_name: String,
    pub model_uuid: String,
    /// The hook name (`install`, `db-relation-changed`); empty for actions (§1.3).
    pub hook_name: String,
    /// The relation of a relation hook: the default for `-r` (§3 "Relation id flag").
    pub relation_id: Option<u64>,
    /// `JUJU_REMOTE_UNIT`: `None` when empty (created, broken, app-bag changed).
    pub remote_unit: Option<String>,
    /// `JUJU_REMOTE_APP` of a relation hook.
    pub remote_app: Option<String>,
    /// Whether this unit held leadership when the hook started.
    pub is_leader: bool,
    /// Set once any leadership check in this context answered "not leader": every later check
    /// in the same context answers "not leader" too (§4.19, sticky minion).
    pub leadership_denied: bool,
    /// Application config: every option declared in `config.yaml`, typed as there; `Null` for an
    /// option with neither a value nor a default (§4.6).
    pub config: BTreeMap<String, serde_json::Value>,
    /// The relations this unit is in, by id, as this unit sees them now.
    pub relations: BTreeMap<u64, RelationView>,
    /// Endpoint (binding) names from `metadata.yaml` plus `juju-info`: what `network-get` knows.
    pub bindings: BTreeSet<String>,
    /// The unit's addresses.
    pub addresses: UnitAddresses,
    /// Ports opened by this unit when the hook started (committed state).
    pub opened_ports: BTreeSet<PortRange>,
    /// Port changes requested in this hook, in order; committed on exit 0 (§4.12).
    pub port_changes: Vec<PortChange>,
    /// Ports held by *other* units on the same machine (for the conflict error of §4.12).
    pub machine_ports: BTreeMap<String, BTreeSet<PortRange>>,
    /// The unit's workload status as the model holds it (updated at once by `status-set`).
    pub unit_status: Status,
    /// The application's status and every unit's, for `status-get --application` (leader only).
    pub app_status: Status,
    pub unit_statuses: BTreeMap<String, Status>,
    /// Leader settings (`leader-get`/`leader-set`, immediate).
    pub leader_settings: Bag,
    /// Charm state (`state-get`/`state-set`/`state-delete`), pending changes applied; committed
    /// on exit 0.
    pub charm_state: Bag,
    /// Whether `charm_state` has ever been written (`state-get` prints `null` when not, §4.21).
    pub charm_state_exists: bool,
    /// The running action, if this context is an action.
    pub action: Option<ActionContext>,
    /// Effects applied at once (status, version, leader settings, logs, action logs); the runner
    /// drains this after every tool call and writes it to the model.
    pub immediate: Vec<ImmediateEffect>,
}

/// One relation as the local unit sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RelationView {
    pub id: u64,
    /// The local endpoint name, e.g. `reverseproxy`.
    pub endpoint: String,
    pub interface: String,
    /// The remote application (the local one for peers).
    pub remote_app: String,
    pub is_peer: bool,
    /// Remote units this unit has been told about (`relation-list`, §6.6), sorted.
    pub members: BTreeSet<String>,
    /// True during this relation's `-broken` hook: `relation-ids` omits it (§2.4).
    pub broken: bool,
    /// The local unit's bag, with this hook's pending writes applied.
    pub local_unit_bag: Bag,
    /// The local app bag with pending writes applied; readable by the leader, and by every
    /// unit in a peer relation (§6.3).
    pub local_app_bag: Bag,
    /// Snapshots of remote unit bags, departed units included (§6.3, §6.5 item 4).
    pub remote_unit_bags: BTreeMap<String, Bag>,
    /// The remote application's bag.
    pub remote_app_bag: Bag,
    /// Keys written in this hook: `Some(value)` set, `None` deleted. Committed on exit 0.
    pub pending_unit_writes: BTreeMap<String, Option<String>>,
    pub pending_app_writes: BTreeMap<String, Option<String>>,
    /// The remote model's UUID (`relation-model-get`; same model here).
    pub remote_model_uuid: String,
    /// Ingress address and egress subnets for this relation (`network-get -r`).
    pub ingress_address: String,
    pub egress_subnets: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct UnitAddresses {
    pub private_address: String,
    pub public_address: String,
    pub ingress_address: String,
    pub egress_subnets: Vec<String>,
    /// The CIDR of the unit's subnet, e.g. `198.18.0.0/16`, and its interface.
    pub cidr: String,
    pub interface_name: String,
    pub mac_address: String,
}

/// A port range with protocol, as `open-port` parses it (§4.12). `Icmp` has no ports.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortRange {
    /// Sorted by protocol name first: "icmp" < "tcp" < "udp" (§4.13).
    Icmp,
    Tcp {
        from: u16,
        to: u16,
    },
    Udp {
        from: u16,
        to: u16,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PortChange {
    pub open: bool,
    pub range: PortRange,
    /// `None` = all endpoints (`--endpoints` absent); else the sorted endpoint names.
    pub endpoints: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Status {
    /// `maintenance`, `blocked`, `waiting`, `active`, `unknown`, `error`, `terminated`.
    pub status: String,
    pub message: String,
    pub data: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActionContext {
    pub name: String,
    /// `JUJU_ACTION_UUID` (an integer string in Juju 3).
    pub id: String,
    /// Params after schema defaults were filled in (§4.15).
    pub params: serde_json::Value,
    /// Nested string results from `action-set` (§4.16).
    pub results: serde_json::Map<String, serde_json::Value>,
    /// `Some(message)` once `action-fail` ran (§4.17).
    pub failure: Option<String>,
}

/// Changes the agent applies at once, not on commit (§1.5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum ImmediateEffect {
    UnitStatus(Status),
    AppStatus(Status),
    WorkloadVersion(String),
    LeaderSettings(Bag),
    /// `juju-log`: level name (as loggo prints it) and message, already prefixed for relation
    /// hooks (§4.14).
    Log {
        level: String,
        message: String,
    },
    ActionLog(String),
}
