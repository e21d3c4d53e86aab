//! The `loadbalancer` interface, provider side (`lb-consumers`), byte-compatible with the
//! reference library `loadbalancer-interface` 1.2.1 (`spec/loadbalancer.md`).
//!
//! Two pure steps around `plan::build`:
//! 1. [`parse`] (every unit, leader or not): each requirer app bag's `request_*` values ->
//!    `ServiceRequest`s for the plan, `Rejection`s for logs and status, the secret files to
//!    write, and an [`LbState`] remembering what each request got.
//! 2. [`responses`] (after `plan::build`): the full desired app bag of every relation and, when
//!    our current bag is known (leader), the minimal change set for one `relation-set --app`.
//!    A request `build` refused for a frontend-port clash is answered `provider_error` naming the
//!    port (§6c, §9 item 15). [`LbStatus`] summarises the outcome for `status-set`.
//!
//! This module never calls hook tools, never decides leadership and never touches HAProxy.

pub mod pem;
pub mod request;
pub mod response;
pub mod validate;

use crate::interfaces::{Bag, RelationSnapshot};
use crate::plan::{LoadBalancerPlan, Port, Rejection, ServiceRequest, Source};
use request::{schema_version, VersionError, WireRequest, SCHEMA_VERSION};
use response::{Address, ErrorAnswer, Message, Response};
use std::collections::BTreeSet;
use std::fmt;
pub use validate::{LbSettings, SecretFile};

/// Our endpoint name (`metadata.yaml`: `provides: lb-consumers: {interface: loadbalancer}`).
pub const ENDPOINT: &str = "lb-consumers";
const REQUEST_PREFIX: &str = "request_";
const RESPONSE_PREFIX: &str = "response_";
const VERSION_KEY: &str = "version";

/// What [`parse`] found.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// In (relation id, request key) order: the precedence `plan::build` resolves ports by.
    pub requests: Vec<ServiceRequest>,
    pub rejections: Vec<Rejection>,
    /// PEM files for terminated requests; write them (0600) before applying the plan.
    pub files: Vec<SecretFile>,
    pub state: LbState,
}

/// Per relation, per request: what parsing decided. Input to [`responses`].
#[derive(Debug, Clone, PartialEq)]
pub struct LbState {
    pub relations: Vec<RelationState>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelationState {
    pub id: u64,
    /// `lb-consumers:7`.
    pub key: String,
    pub remote_app: String,
    /// Why no request of this relation is read (§1 versioning), if so.
    pub ignored: Option<VersionError>,
    /// Our app bag as read (leader only).
    pub local_app_bag: Option<Bag>,
    pub requests: Vec<RequestState>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestState {
    /// The bag key, `request_<name>`.
    pub key: String,
    /// The request's `name` field (its answer goes to `response_<name>`); `None` if unreadable.
    pub name: Option<String>,
    pub sent_hash: Option<String>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Valid; served at `address` on `ports` unless `plan::build` refuses it.
    Accepted { address: Address, ports: Vec<Port> },
    /// Answered with an error.
    Refused(ErrorAnswer),
    /// Not answered at all: the reference would not load it (§2.1), or its name is taken.
    Skipped(String),
}

/// The final outcome of one request after `plan::build`.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Served(Address),
    Refused(ErrorAnswer),
    /// Valid but without any backend server yet: not rendered, not answered (any earlier
    /// answer is left in place).
    Waiting,
    Skipped(String),
}

/// Everything to publish for one relation.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationAnswer {
    pub id: u64,
    /// `lb-consumers:7`, for `relation-set -r`.
    pub key: String,
    pub remote_app: String,
    /// Our app bag as it should be: `version` and one `response_<name>` per answered request.
    pub desired: Bag,
    /// Keys to send (`""` deletes) when our current bag is known; `None` on non-leaders.
    /// `Some` of an empty bag means nothing to write: skip the call (§5, §9 item 20).
    pub changes: Option<Bag>,
    /// (request key, request name, outcome) in key order.
    pub outcomes: Vec<(String, Option<String>, Outcome)>,
}

fn message(text: String) -> Message {
    Message::new(text).unwrap_or_else(|| unreachable!("built from a non-empty format string"))
}

/// Read every `lb-consumers` relation. Same result on every unit.
pub fn parse(snapshots: &[RelationSnapshot], settings: &LbSettings) -> Parsed {
    let mut ours: Vec<&RelationSnapshot> = snapshots
        .iter()
        .filter(|s| s.endpoint == ENDPOINT)
        .collect();
    // Ascending numeric id (§4 "Several relations"): the first claim of a port wins.
    ours.sort_by_key(|s| s.id);
    let mut parsed = Parsed {
        requests: Vec::new(),
        rejections: Vec::new(),
        files: Vec::new(),
        state: LbState {
            relations: Vec::new(),
        },
    };
    for snapshot in ours {
        let key = snapshot.key();
        let mut relation = RelationState {
            id: snapshot.id,
            key: key.clone(),
            remote_app: snapshot.remote_app.clone(),
            ignored: None,
            local_app_bag: snapshot.local_app_bag.clone(),
            requests: Vec::new(),
        };
        if let Err(e) = schema_version(snapshot.remote_app_bag.get(VERSION_KEY).map(String::as_str))
        {
            tracing::info!(relation = %key, app = %snapshot.remote_app, "not reading requests: {e}");
            if e != VersionError::Missing {
                parsed.rejections.push(Rejection {
                    source: Source::App {
                        relation: key.clone(),
                        app: snapshot.remote_app.clone(),
                        request: None,
                    },
                    service: None,
                    field: VERSION_KEY.into(),
                    reason: e.to_string(),
                });
            }
            relation.ignored = Some(e);
            parsed.state.relations.push(relation);
            continue;
        }
        let context = validate::RelationContext {
            id: snapshot.id,
            key: &key,
            remote_app: &snapshot.remote_app,
            units: &snapshot.units,
            ingress_address: &snapshot.ingress_address,
        };
        let mut names_taken = BTreeSet::new();
        // The bag is a BTreeMap: keys in code-point order (§4 "Several requests").
        for (bag_key, text) in &snapshot.remote_app_bag {
            if !bag_key.starts_with(REQUEST_PREFIX) {
                continue;
            }
            let source = |name: Option<&str>| Source::App {
                relation: key.clone(),
                app: snapshot.remote_app.clone(),
                request: Some(name.unwrap_or(&bag_key[REQUEST_PREFIX.len()..]).to_owned()),
            };
            let wire = match WireRequest::parse(text) {
                Ok(wire) => wire,
                Err(e) => {
                    tracing::warn!(relation = %key, key = %bag_key, "skipping request the reference library would not load: {e}");
                    let field = match &e {
                        request::RequestError::Invalid { field, .. } => (*field).to_owned(),
                        request::RequestError::Missing(field) => (*field).to_owned(),
                        _ => "request".to_owned(),
                    };
                    parsed.rejections.push(Rejection {
                        source: source(None),
                        service: None,
                        field,
                        reason: e.to_string(),
                    });
                    relation.requests.push(RequestState {
                        key: bag_key.clone(),
                        name: None,
                        sent_hash: None,
                        verdict: Verdict::Skipped(e.to_string()),
                    });
                    continue;
                }
            };
            let mut state = RequestState {
                key: bag_key.clone(),
                name: Some(wire.name.clone()),
                sent_hash: wire.sent_hash.clone(),
                verdict: Verdict::Skipped(String::new()),
            };
            if !names_taken.insert(wire.name.clone()) {
                // Two keys whose `name` fields agree would share one response key.
                let reason = format!(
                    "another request of this relation already has the name {}",
                    crate::plan::types::show(&wire.name)
                );
                parsed.rejections.push(Rejection {
                    source: source(Some(&wire.name)),
                    service: Some(wire.name.clone()),
                    field: "name".into(),
                    reason: reason.clone(),
                });
                state.verdict = Verdict::Skipped(reason);
                relation.requests.push(state);
                continue;
            }
            match validate::validate(&wire, &context, settings) {
                Ok(accepted) => {
                    state.verdict = Verdict::Accepted {
                        address: accepted.address,
                        ports: accepted
                            .service
                            .frontends
                            .iter()
                            .map(|f| f.bind.port)
                            .collect(),
                    };
                    parsed.requests.push(accepted.service);
                    parsed.files.extend(accepted.files);
                }
                Err(answer) => {
                    let field = match &answer {
                        ErrorAnswer::Unsupported(fields) => fields
                            .iter()
                            .map(|(f, _)| f.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        ErrorAnswer::ProviderError(_) => "request".to_owned(),
                    };
                    tracing::warn!(relation = %key, request = %wire.name, "refusing request: {answer}");
                    parsed.rejections.push(Rejection {
                        source: source(Some(&wire.name)),
                        service: Some(wire.name.clone()),
                        field,
                        reason: answer.to_string(),
                    });
                    state.verdict = Verdict::Refused(answer);
                }
            }
            relation.requests.push(state);
        }
        parsed.state.relations.push(relation);
    }
    parsed
}

/// How `plan::build` treated one accepted request.
fn final_outcome(
    relation: &RelationState,
    name: &str,
    address: &Address,
    ports: &[Port],
    plan: &LoadBalancerPlan,
    build_rejections: &[Rejection],
) -> Outcome {
    let ours = |source: &Source| matches!(source, Source::App { relation: r, request: Some(n), .. } if *r == relation.key && n == name);
    if plan.services.iter().any(|s| ours(&s.source)) {
        return Outcome::Served(address.clone());
    }
    let Some(rejection) = build_rejections.iter().find(|r| ours(&r.source)) else {
        return Outcome::Waiting;
    };
    let taken: BTreeSet<u16> = plan
        .services
        .iter()
        .flat_map(|s| s.binds.iter().map(|b| b.port.get()))
        .chain(plan.stats.iter().map(|s| s.bind.port.get()))
        .collect();
    let text = match ports.iter().find(|p| taken.contains(&p.get())) {
        Some(port) if rejection.field == "port" => {
            format!("frontend port {port} is already in use")
        }
        _ => format!("{}: {}", rejection.field, rejection.reason),
    };
    Outcome::Refused(ErrorAnswer::ProviderError(message(text)))
}

/// Compute every relation's answers after `plan::build` decided.
pub fn responses(
    state: &LbState,
    plan: &LoadBalancerPlan,
    build_rejections: &[Rejection],
) -> Vec<RelationAnswer> {
    let mut answers = Vec::new();
    for relation in &state.relations {
        let mut desired = Bag::new();
        desired.insert(VERSION_KEY.into(), SCHEMA_VERSION.to_string());
        // Response keys to leave as they are: requests still waiting for backends.
        let mut keep = BTreeSet::new();
        let mut outcomes = Vec::new();
        for request in &relation.requests {
            let outcome = match (&request.verdict, &request.name) {
                (Verdict::Accepted { address, ports }, Some(name)) => {
                    final_outcome(relation, name, address, ports, plan, build_rejections)
                }
                (Verdict::Accepted { .. }, None) => Outcome::Skipped("no name".into()),
                (Verdict::Refused(answer), _) => Outcome::Refused(answer.clone()),
                (Verdict::Skipped(reason), _) => Outcome::Skipped(reason.clone()),
            };
            if let Some(name) = &request.name {
                let key = format!("{RESPONSE_PREFIX}{name}");
                let response = match &outcome {
                    Outcome::Served(address) => Some(Ok(address.clone())),
                    Outcome::Refused(answer) => Some(Err(answer.clone())),
                    Outcome::Waiting => {
                        keep.insert(key.clone());
                        None
                    }
                    Outcome::Skipped(_) => None,
                };
                if let Some(outcome) = response {
                    let wire = Response {
                        outcome,
                        received_hash: request.sent_hash.clone(),
                    }
                    .to_wire();
                    desired.insert(key, wire);
                }
            }
            outcomes.push((request.key.clone(), request.name.clone(), outcome));
        }
        let changes = relation.local_app_bag.as_ref().map(|current| {
            let mut changes = Bag::new();
            for (key, value) in &desired {
                if current.get(key) != Some(value) {
                    changes.insert(key.clone(), value.clone());
                }
            }
            for key in current.keys() {
                if key.starts_with(RESPONSE_PREFIX) && !desired.contains_key(key) {
                    if keep.contains(key) {
                        continue;
                    }
                    // An empty value deletes the key (`juju-hook-tools.md`, relation-set).
                    changes.insert(key.clone(), String::new());
                }
            }
            changes
        });
        if let Some(current) = &relation.local_app_bag {
            for key in &keep {
                if let Some(value) = current.get(key) {
                    desired.insert(key.clone(), value.clone());
                }
            }
        }
        answers.push(RelationAnswer {
            id: relation.id,
            key: relation.key.clone(),
            remote_app: relation.remote_app.clone(),
            desired,
            changes,
            outcomes,
        });
    }
    answers
}

/// The interface's part of the unit status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LbStatus {
    pub served: usize,
    pub waiting: usize,
    /// `<app>/<request>` of every refused or skipped request, in processing order.
    pub rejected: Vec<String>,
}

impl LbStatus {
    pub fn from_answers(answers: &[RelationAnswer]) -> Self {
        let mut status = LbStatus::default();
        for answer in answers {
            for (key, name, outcome) in &answer.outcomes {
                let label = || {
                    let raw = name
                        .as_deref()
                        .unwrap_or_else(|| key.get(REQUEST_PREFIX.len()..).unwrap_or(key));
                    // Request names are remote input: escaped and cut before they reach a status.
                    let shown: String = raw.escape_debug().take(64).collect();
                    format!("{}/{}", answer.remote_app, shown)
                };
                match outcome {
                    Outcome::Served(_) => status.served += 1,
                    Outcome::Waiting => status.waiting += 1,
                    Outcome::Refused(_) | Outcome::Skipped(_) => status.rejected.push(label()),
                }
            }
        }
        status
    }
}

impl fmt::Display for LbStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} load balancer request{} served",
            self.served,
            if self.served == 1 { "" } else { "s" }
        )?;
        if self.waiting > 0 {
            write!(f, ", {} waiting for backends", self.waiting)?;
        }
        if !self.rejected.is_empty() {
            write!(f, ", rejected: {}", self.rejected.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
