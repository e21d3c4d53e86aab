//! Publish what HAProxy now serves: our unit bag on `website` and `reverseproxy`, our app bag on
//! `lb-consumers` (leader only), and exactly the frontend ports opened.
//!
//! Each write sends only the keys that differ (`relation-set` with no change would still cost a
//! call and, for app bags, a `-changed` on every remote unit). Nothing here decides content:
//! the interface modules do.

use super::gather::Model;
use crate::charm_config::EffectiveConfig;
use crate::interfaces::http::website::{
    changes, reverseproxy_bag, website_bag, REVERSEPROXY_KEYS, WEBSITE_KEYS,
};
use crate::interfaces::http::{reverseproxy, REVERSEPROXY, WEBSITE};
use crate::interfaces::loadbalancer::RelationAnswer;
use crate::interfaces::Bag;
use crate::juju::{HookTools, PortRange, Protocol, RelationId, ToolError};
use crate::plan::LoadBalancerPlan;
use std::collections::BTreeSet;

pub fn relations(
    tools: &HookTools,
    model: &Model,
    plan: &LoadBalancerPlan,
    http: &reverseproxy::Outcome,
    lb_answers: &[RelationAnswer],
    config: &EffectiveConfig,
) -> Result<(), ToolError> {
    let advertised = config
        .vip
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| model.public_address.clone());
    for relation in &model.relations {
        let (desired, owned): (Bag, &[&str]) = match relation.endpoint.as_str() {
            WEBSITE => (website_bag(plan, http, relation), &WEBSITE_KEYS),
            REVERSEPROXY => (reverseproxy_bag(&advertised, None), &REVERSEPROXY_KEYS),
            _ => continue,
        };
        let delta = changes(&relation.local_unit_bag, &desired, owned);
        if !delta.is_empty() {
            tools.relation_set_unit(&relation_id(&relation.endpoint, relation.id)?, &delta)?;
        }
    }
    if let Some(leader) = &model.leader {
        for answer in lb_answers {
            match &answer.changes {
                Some(delta) if !delta.is_empty() => {
                    let id = relation_id(crate::interfaces::loadbalancer::ENDPOINT, answer.id)?;
                    tools.relation_set_app(leader, &id, delta)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Our `status`/`status-detail` on one ssl-termination relation, only the keys that changed
/// (`spec/ssl-termination.md` §1.2: written only on change).
pub fn ssl_termination(
    tools: &HookTools,
    model: &Model,
    id: u64,
    desired: &crate::interfaces::Bag,
) -> Result<(), ToolError> {
    let endpoint = crate::interfaces::ssl_termination::ENDPOINT;
    let Some(relation) = model
        .relations
        .iter()
        .find(|r| r.endpoint == endpoint && r.id == id)
    else {
        return Ok(());
    };
    let delta = changes(
        &relation.local_unit_bag,
        desired,
        &crate::interfaces::ssl_termination::ANSWER_KEYS,
    );
    if !delta.is_empty() {
        tools.relation_set_unit(&relation_id(endpoint, id)?, &delta)?;
    }
    Ok(())
}

fn relation_id(endpoint: &str, id: u64) -> Result<RelationId, ToolError> {
    RelationId::new(endpoint, id).map_err(|e| ToolError::InvalidInput {
        tool: "relation-set",
        reason: e.to_string(),
    })
}

/// Open every port a frontend (or the stats listener) binds, close the TCP ports we opened
/// that nothing binds any more (`spec/http.md` §9 item 21).
pub fn ports(tools: &HookTools, plan: &LoadBalancerPlan) -> Result<(), ToolError> {
    let wanted: BTreeSet<u16> = plan
        .frontends
        .iter()
        .map(|f| f.bind.port.get())
        .chain(plan.stats.iter().map(|s| s.bind.port.get()))
        .collect();
    let opened = tools.opened_ports()?;
    let open_now: BTreeSet<u16> = opened
        .iter()
        .filter_map(|r| match r {
            PortRange::Ports {
                protocol: Protocol::Tcp,
                from,
                to,
            } if from == to => Some(*from),
            _ => None,
        })
        .collect();
    for port in wanted.difference(&open_now) {
        tools.open_port(PortRange::tcp(*port))?;
    }
    for range in &opened {
        let stale = match range {
            PortRange::Ports {
                protocol: Protocol::Tcp,
                from,
                to,
            } => (*from..=*to).all(|p| !wanted.contains(&p)) || from != to,
            _ => false,
        };
        if stale {
            tools.close_port(*range)?;
        }
    }
    Ok(())
}
