//! The `ssl-termination` interface, provider side (`spec/ssl-termination.md`): every requirer
//! unit's `cert-request` becomes a [`Site`] or a rejection (§2), and each relation gets its
//! `status` and `status-detail` answer back (§1.5, §1.6) in Python's canonical JSON.
//!
//! Sites are resolved here (conflicts, merging units of one application, §2 "Conflicts"); the
//! HAProxy shape they need is in [`proxy`]. Certificates are not this module's business: the
//! caller says per site whether it is ready, pending or failed. Pure: no files, no hook tools.

pub mod options;
pub mod proxy;
pub mod request;

use crate::interfaces::loadbalancer::response::push_json_string;
use crate::interfaces::{Bag, RelationSnapshot};
use crate::plan::{Rejection, Source};
pub use request::{CertRequest, Credentials, Parsed as ParsedRequest, RequestError};
use std::collections::BTreeSet;

/// Our endpoint name (`metadata.yaml`).
pub const ENDPOINT: &str = "ssl-termination";
/// The peer endpoint (`metadata.yaml`).
pub const PEERS: &str = "peers";
/// The keys of our unit bag this interface owns.
pub const ANSWER_KEYS: [&str; 2] = ["status", "status-detail"];

/// The other units of our application, by address, for the ACME HTTP-01 relay: a CA may
/// validate a name at any unit it resolves to, and only the unit that placed the order knows
/// its token, so a unit that does not know a token asks its peers (`proxy::service_request`).
/// An address is the peer's `ingress-address` (Juju writes it), else `private-address`; a
/// peer without a usable one is left out with a warning.
pub fn relay_peers(relations: &[RelationSnapshot]) -> Vec<crate::plan::Host> {
    let mut peers = Vec::new();
    for relation in relations.iter().filter(|r| r.endpoint == PEERS) {
        for unit in &relation.units {
            let address = ["ingress-address", "private-address"]
                .iter()
                .find_map(|k| unit.bag.get(*k).filter(|v| !v.is_empty()));
            match address.map(|a| crate::plan::Host::parse(a)) {
                Some(Ok(host)) if !peers.contains(&host) => peers.push(host),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(peer = %unit.name, "peer address unusable for the ACME relay: {e}")
                }
                None => tracing::debug!(peer = %unit.name, "peer has no address yet"),
            }
        }
    }
    peers
}

/// One site: one certificate, one backend, possibly fed by several units of one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub relation_id: u64,
    /// The units whose requests form this site, lowest first (it owns credentials/contact).
    pub units: Vec<String>,
    pub request: CertRequest,
}

impl Site {
    pub fn primary(&self) -> &crate::plan::Fqdn {
        self.request.primary()
    }

    pub fn owner(&self) -> &str {
        &self.units[0]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitOutcome {
    /// Index into [`Parsed::sites`].
    Site(usize),
    Rejected(RequestError),
}

/// One remote unit with a live (truthy) request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitEntry {
    pub relation_id: u64,
    pub unit: String,
    pub outcome: UnitOutcome,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// In precedence order: relation id, then unit number.
    pub sites: Vec<Site>,
    pub units: Vec<UnitEntry>,
}

/// What the certificate side says about one site, for the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteState {
    /// Routed with a valid certificate from the configured source (§4.6).
    Ready,
    Pending,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteStatus {
    pub state: SiteState,
    /// RFC 3339 UTC expiry of the served certificate.
    pub not_after: Option<String>,
}

/// Read every unit of every `ssl-termination` relation (relations in id order, units in
/// numeric order: the precedence of §2 "Conflicts").
pub fn parse(relations: &[RelationSnapshot]) -> Parsed {
    let mut relations: Vec<&RelationSnapshot> = relations
        .iter()
        .filter(|r| r.endpoint == ENDPOINT)
        .collect();
    relations.sort_by_key(|r| r.id);
    let mut parsed = Parsed::default();
    for relation in relations {
        for unit in &relation.units {
            let outcome = match request::parse(unit.bag.get(request::KEY).map(String::as_str)) {
                ParsedRequest::Withdrawn => continue,
                ParsedRequest::Rejected(e) => UnitOutcome::Rejected(e),
                ParsedRequest::Request(r) => place(&mut parsed.sites, relation.id, &unit.name, r),
            };
            let warnings = match &outcome {
                UnitOutcome::Site(i) => parsed.sites[*i].request.warnings.clone(),
                UnitOutcome::Rejected(_) => Vec::new(),
            };
            parsed.units.push(UnitEntry {
                relation_id: relation.id,
                unit: unit.name.clone(),
                outcome,
                warnings,
            });
        }
    }
    parsed
}

/// Join an existing site (same relation, same name set), or start a new one, or lose to the
/// holder of one of the names.
fn place(
    sites: &mut Vec<Site>,
    relation_id: u64,
    unit: &str,
    mut request: CertRequest,
) -> UnitOutcome {
    let names: BTreeSet<&str> = request.fqdns.iter().map(|f| f.as_str()).collect();
    for (index, site) in sites.iter_mut().enumerate() {
        let theirs: BTreeSet<&str> = site.request.fqdns.iter().map(|f| f.as_str()).collect();
        if site.relation_id == relation_id && theirs == names {
            let owner = &mut site.request;
            for upstream in request.upstreams.drain(..) {
                if !owner.upstreams.contains(&upstream) {
                    owner.upstreams.push(upstream);
                }
            }
            if owner.credentials != request.credentials || owner.contact != request.contact {
                owner.warnings.push(format!(
                    "{unit} sends other credentials or contact than {}: {}'s are used",
                    site.units[0], site.units[0]
                ));
            }
            site.units.push(unit.to_owned());
            return UnitOutcome::Site(index);
        }
        if let Some(taken) = request.fqdns.iter().find(|f| theirs.contains(f.as_str())) {
            return UnitOutcome::Rejected(RequestError {
                field: "fqdn".into(),
                message: format!("fqdn {taken} already served for {}", site.units[0]),
                fqdns: request.fqdns.iter().map(ToString::to_string).collect(),
            });
        }
    }
    sites.push(Site {
        relation_id,
        units: vec![unit.to_owned()],
        request,
    });
    UnitOutcome::Site(sites.len() - 1)
}

/// The rejected units, in the plan's form for logs and the unit status.
pub fn rejections(parsed: &Parsed) -> Vec<Rejection> {
    parsed
        .units
        .iter()
        .filter_map(|u| match &u.outcome {
            UnitOutcome::Rejected(e) => Some(Rejection {
                source: Source::Unit {
                    relation: format!("{ENDPOINT}:{}", u.relation_id),
                    unit: u.unit.clone(),
                },
                service: None,
                // The message starts with the exact field (`upstreams[1].port "http" ...`).
                field: e
                    .message
                    .split_once(' ')
                    .map_or_else(|| e.field.clone(), |(field, _)| field.to_owned()),
                reason: e
                    .message
                    .split_once(' ')
                    .map_or_else(|| e.message.clone(), |(_, rest)| rest.to_owned()),
            }),
            UnitOutcome::Site(_) => None,
        })
        .collect()
}

/// Our unit bag on `relation`: `status` (ready names of this relation's sites, unit order) and
/// `status-detail` (one entry per unit with a live request), canonical JSON (§1.2).
/// `statuses[i]` belongs to `parsed.sites[i]`.
pub fn answer(relation_id: u64, parsed: &Parsed, statuses: &[SiteStatus]) -> Bag {
    let mut ready: Vec<String> = Vec::new();
    let mut detail = String::from("{");
    let mut first = true;
    let mut entries: Vec<&UnitEntry> = parsed
        .units
        .iter()
        .filter(|u| u.relation_id == relation_id)
        .collect();
    // sort_keys: unit names as strings.
    let in_unit_order = entries.clone();
    entries.sort_by(|a, b| a.unit.cmp(&b.unit));
    for entry in in_unit_order {
        if let UnitOutcome::Site(i) = entry.outcome {
            let site = &parsed.sites[i];
            let is_ready = statuses.get(i).is_some_and(|s| s.state == SiteState::Ready);
            if is_ready && site.owner() == entry.unit {
                ready.extend(site.request.fqdns.iter().map(ToString::to_string));
            }
        }
    }
    for entry in entries {
        let (fqdns, state, message, not_after): (Vec<String>, &str, String, Option<String>) =
            match &entry.outcome {
                UnitOutcome::Rejected(e) => (e.fqdns.clone(), "rejected", e.message.clone(), None),
                UnitOutcome::Site(i) => {
                    let names = parsed.sites[*i]
                        .request
                        .fqdns
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    match statuses.get(*i) {
                        Some(s) => match &s.state {
                            SiteState::Ready => {
                                (names, "ready", String::new(), s.not_after.clone())
                            }
                            SiteState::Pending => {
                                (names, "pending", String::new(), s.not_after.clone())
                            }
                            SiteState::Failed(m) => {
                                (names, "failed", m.clone(), s.not_after.clone())
                            }
                        },
                        None => (names, "pending", String::new(), None),
                    }
                }
            };
        if !first {
            detail.push_str(", ");
        }
        first = false;
        push_json_string(&mut detail, &entry.unit);
        detail.push_str(": {\"fqdn\": ");
        push_list(&mut detail, &fqdns);
        detail.push_str(", \"message\": ");
        push_json_string(&mut detail, &message);
        detail.push_str(", \"not-after\": ");
        match &not_after {
            Some(t) => push_json_string(&mut detail, t),
            None => detail.push_str("null"),
        }
        detail.push_str(", \"state\": ");
        push_json_string(&mut detail, state);
        detail.push_str(", \"warnings\": ");
        push_list(&mut detail, &entry.warnings);
        detail.push('}');
    }
    detail.push('}');
    let mut status = String::new();
    push_list(&mut status, &ready);
    Bag::from([
        ("status".to_owned(), status),
        ("status-detail".to_owned(), detail),
    ])
}

fn push_list(out: &mut String, items: &[String]) {
    out.push('[');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        push_json_string(out, item);
    }
    out.push(']');
}

#[cfg(test)]
mod tests;
