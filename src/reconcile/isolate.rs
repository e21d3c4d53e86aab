//! When HAProxy refuses a candidate config, find the requests it objects to.
//!
//! The allow-lists keep out every injection, but a combination of allowed words can still be
//! refused by `haproxy -c` (seen on 2.6: `http-check send` after `http-check expect`, `cookie
//! ... preserve` without `insert`, `check-ssl` without `verify none`). One such requester must
//! not take everyone down (`DESIGN.md` "One bad requester never breaks the others"): each
//! service a relation asked for is checked alone, and the ones HAProxy refuses become
//! rejections carrying HAProxy's own ALERT. Config services are the operator's: they are never
//! dropped here (a refused config service blocks the unit instead). Costs one `haproxy -c` per
//! relation service, and only when the whole candidate was refused.

use crate::haproxy::{self, ApplyError, ConfigError, Paths};
use crate::plan::{LoadBalancerPlan, Origin, PlannedService, Rejection};

/// The relation services HAProxy refuses on their own, with the reason.
pub fn refused(paths: &Paths, plan: &LoadBalancerPlan) -> Vec<Rejection> {
    plan.services
        .iter()
        .filter(|s| s.origin != Origin::Config)
        .filter_map(|service| {
            let alone = only(plan, service);
            match haproxy::check(paths, &alone) {
                Err(ApplyError::Config(ConfigError::Rejected { alerts, .. })) => Some(Rejection {
                    source: service.source.clone(),
                    service: Some(service.service.clone()),
                    field: "haproxy".into(),
                    reason: format!("refused the service: {}", first_alert(&alerts)),
                }),
                _ => None,
            }
        })
        .collect()
}

/// `plan` reduced to one service (globals and userlists kept, so references still resolve).
fn only(plan: &LoadBalancerPlan, service: &PlannedService) -> LoadBalancerPlan {
    LoadBalancerPlan {
        global: plan.global.clone(),
        frontends: plan
            .frontends
            .iter()
            .filter(|f| service.frontends.contains(&f.name))
            .cloned()
            .collect(),
        backends: plan
            .backends
            .iter()
            .filter(|b| service.backends.contains(&b.name))
            .cloned()
            .collect(),
        userlists: plan.userlists.clone(),
        stats: None,
        services: vec![service.clone()],
    }
}

/// HAProxy's message without its `[ALERT] (pid) : config : ` preamble.
pub(crate) fn first_alert(alerts: &[String]) -> String {
    let line = alerts
        .iter()
        .find(|a| !a.contains("Fatal errors found"))
        .or(alerts.first());
    let line = line.map(String::as_str).unwrap_or("no reason given");
    let text = line.rsplit_once(" : ").map(|(_, t)| t).unwrap_or(line);
    text.trim().chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_alert_drops_the_preamble_and_the_summary() {
        let alerts = vec![
            "[ALERT]    (4855) : config : parsing [x.cfg:8] : unknown keyword 'bogus' in 'backend' section".to_owned(),
            "[ALERT]    (4855) : config : Fatal errors found in configuration.".to_owned(),
        ];
        assert_eq!(
            first_alert(&alerts),
            "unknown keyword 'bogus' in 'backend' section"
        );
    }
}
