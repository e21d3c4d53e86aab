//! One module per relation interface: wire data in, typed requests out; answers back to wire.
//!
//! Each interface module exposes a `parse` from [`RelationSnapshot`]s (what the hook tools
//! returned, already gathered by the hook) to `plan::ServiceRequest`s plus `plan::Rejection`s,
//! and a function that computes what to write back. Interfaces never touch HAProxy and never
//! call hook tools themselves: gathering and writing is the hook's job, so parsing stays pure
//! and testable.

pub mod http;
pub mod loadbalancer;
pub mod ssl_termination;

use std::collections::BTreeMap;

/// A relation bag: string keys to string values; an empty value never appears.
pub type Bag = BTreeMap<String, String>;

/// One remote unit and its bag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUnit {
    /// e.g. `web/1`.
    pub name: String,
    pub bag: Bag,
}

impl RemoteUnit {
    /// The unit number, for Juju's numeric order (`web/2` before `web/10`).
    pub fn number(&self) -> u64 {
        self.name
            .rsplit_once('/')
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(u64::MAX)
    }
}

/// Everything the hook read from one relation, as this unit sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationSnapshot {
    /// The numeric relation id (`reverseproxy:3` -> 3).
    pub id: u64,
    /// Our endpoint, e.g. `reverseproxy`.
    pub endpoint: String,
    /// The remote application.
    pub remote_app: String,
    /// The remote application's bag.
    pub remote_app_bag: Bag,
    /// Remote member units (departed ones excluded), in numeric unit order.
    pub units: Vec<RemoteUnit>,
    /// Our own unit bag in this relation.
    pub local_unit_bag: Bag,
    /// Our application bag; `None` when this unit may not read it (non-leader, non-peer).
    pub local_app_bag: Option<Bag>,
    /// Our ingress address on this relation (`network-get <endpoint> -r <id> --ingress-address`).
    pub ingress_address: String,
}

impl RelationSnapshot {
    /// `endpoint:id`, the form used in logs and `-r`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.endpoint, self.id)
    }
}

/// Sort remote units into Juju's numeric order.
pub fn sort_units(units: &mut [RemoteUnit]) {
    units.sort_by(|a, b| {
        a.number()
            .cmp(&b.number())
            .then_with(|| a.name.cmp(&b.name))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_sort_numerically() {
        let mut units: Vec<RemoteUnit> = ["web/10", "web/2", "web/1"]
            .iter()
            .map(|n| RemoteUnit {
                name: n.to_string(),
                bag: Bag::new(),
            })
            .collect();
        sort_units(&mut units);
        let names: Vec<_> = units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["web/1", "web/2", "web/10"]);
    }
}
