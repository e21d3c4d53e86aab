//! Read the model: config, leadership, addresses and every relation's bags, through the hook
//! tools only, into the snapshots the interface modules parse.
//!
//! Juju's view rules apply as given (`spec/juju-hook-tools.md` §2.4, §6.6): a relation in its
//! `-broken` hook is not in `relation-ids`, and a departing unit is not in `relation-list`, so
//! neither contributes. Our own app bag is read only by the leader (a non-leader would get
//! `permission denied` outside peer relations, §6.3).

use crate::interfaces::{sort_units, ssl_termination, Bag, RelationSnapshot, RemoteUnit};
use crate::juju::{Context, HookTools, Leader, ToolError, UnitAddress};
use serde_json::{Map, Value};

/// The endpoints whose relations feed the plan or receive answers.
pub const ENDPOINTS: &[&str] = &["reverseproxy", "website", "lb-consumers", "ssl-termination"];

/// Everything one reconcile reads.
pub struct Model {
    pub config: Map<String, Value>,
    pub leader: Option<Leader>,
    pub relations: Vec<RelationSnapshot>,
    /// `unit-get public-address`: what we advertise when neither `vip` nor
    /// `external_hostname` is set.
    pub public_address: String,
}

pub fn gather(ctx: &Context, tools: &HookTools) -> Result<Model, ToolError> {
    let config: Map<String, Value> = tools.config_get_all()?;
    let leader = tools.is_leader()?;
    let public_address = tools.unit_get(UnitAddress::Public)?;
    let mut relations = Vec::new();
    for endpoint in ENDPOINTS {
        relations.extend(snapshots(ctx, tools, endpoint, &leader)?);
    }
    // Peers matter only to ssl-termination (they relay ACME HTTP-01 requests to each other),
    // so other hooks pay no tool calls for them.
    if relations
        .iter()
        .any(|r| r.endpoint == ssl_termination::ENDPOINT)
    {
        relations.extend(snapshots(ctx, tools, ssl_termination::PEERS, &leader)?);
    }
    Ok(Model {
        config,
        leader,
        relations,
        public_address,
    })
}

/// Every relation of `endpoint` with its bags.
fn snapshots(
    ctx: &Context,
    tools: &HookTools,
    endpoint: &str,
    leader: &Option<Leader>,
) -> Result<Vec<RelationSnapshot>, ToolError> {
    let mut relations = Vec::new();
    for relation in tools.relation_ids(endpoint)? {
        let remote_app = tools.relation_remote_app(&relation)?;
        let mut units = Vec::new();
        for unit in tools.relation_list(&relation)? {
            let bag = tools.relation_get_unit(&relation, &unit)?;
            units.push(RemoteUnit {
                name: unit.to_string(),
                bag,
            });
        }
        sort_units(&mut units);
        let remote_app_bag = tools.relation_get_app(&relation, &remote_app)?;
        let local_unit_bag = tools.relation_get_unit(&relation, &ctx.unit)?;
        let local_app_bag = match leader {
            Some(_) => Some(tools.relation_get_app(&relation, ctx.app())?),
            None => None,
        };
        let ingress_address = tools.network_get_ingress_address(endpoint, Some(&relation))?;
        relations.push(RelationSnapshot {
            id: relation.id(),
            endpoint: relation.endpoint().to_owned(),
            remote_app: remote_app.to_string(),
            remote_app_bag,
            units,
            local_unit_bag,
            local_app_bag,
            ingress_address,
        });
    }
    Ok(relations)
}

/// A bag's keys as a sorted list, for debug logs (values may hold secrets: never logged).
pub fn keys(bag: &Bag) -> Vec<&str> {
    bag.keys().map(String::as_str).collect()
}
