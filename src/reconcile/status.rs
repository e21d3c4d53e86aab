//! The unit status: one line that says what is true.
//!
//! - `blocked` when the operator must act: a config value was refused (the last valid set is
//!   serving), or HAProxy refused the candidate config (the previous one is serving).
//! - `active` otherwise, with what is served and, after `; `, every rejected request in the
//!   spec's form `<unit or config>: [<service>: ]<problem>` (`spec/http.md` §9 item 25): one
//!   bad requester is that requester's problem, not the operator's, and everyone else is
//!   served.

use crate::interfaces::loadbalancer::LbStatus;
use crate::juju::{HookTools, ToolError, WorkloadStatus};

/// ssl-termination's share of the status, worded as `spec/ssl-termination.md` §4.6 says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SslStatus {
    /// Backends of the ssl-termination request in the plan (sites, 421, relay); `None` when
    /// it is not in the plan. Its share is reported as §4.6 words it, not as a count.
    pub plan_backends: Option<usize>,
    /// Whether any ssl-termination relation exists (§4.6: no sites then reads `Ready`).
    pub related: bool,
    /// Primary names of the sites that are ready, in site order.
    pub ready: Vec<String>,
    pub pending: usize,
    /// `<primary name, else unit> <state>` of every rejected or failed site, in site order.
    pub not_ready: Vec<String>,
}

impl SslStatus {
    /// §4.6: none when there are no sites; blocked when any site is rejected or failed;
    /// waiting while certificates are pending; else `Ready (<primaries>)` (≤ 120 chars).
    fn part(&self) -> Option<(WorkloadStatus, String)> {
        let total = self.ready.len() + self.pending + self.not_ready.len();
        if total == 0 {
            return None;
        }
        if let Some(first) = self.not_ready.first() {
            let k = total - self.ready.len();
            return Some((
                WorkloadStatus::Blocked,
                format!("{k} of {total} sites not ready: {first}"),
            ));
        }
        if self.pending > 0 {
            return Some((
                WorkloadStatus::Waiting,
                format!("Obtaining certificates ({} pending)", self.pending),
            ));
        }
        let mut names = self.ready.join(", ");
        if names.chars().count() > 120 {
            names = names.chars().take(119).collect::<String>() + "…";
        }
        Some((WorkloadStatus::Active, format!("Ready ({names})")))
    }
}

/// The more severe of two statuses (blocked over waiting over active).
fn worst(a: WorkloadStatus, b: WorkloadStatus) -> WorkloadStatus {
    let rank = |s: WorkloadStatus| match s {
        WorkloadStatus::Blocked => 3,
        WorkloadStatus::Maintenance => 2,
        WorkloadStatus::Waiting => 1,
        WorkloadStatus::Active => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// Juju shows the message in one table cell: keep it readable.
const MAX_MESSAGE: usize = 1000;

/// What one reconcile achieved, for the status and for callers (actions, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub plan_services: usize,
    pub plan_backends: usize,
    pub config_problems: Vec<String>,
    pub rejections: Vec<String>,
    pub lb: LbStatus,
    pub ssl: SslStatus,
    pub apply_error: Option<String>,
}

impl Summary {
    pub fn status(&self) -> (WorkloadStatus, String) {
        let ssl_part = self.ssl.part();
        // ssl-termination's service is worded by its own part (§4.6), so with nothing else
        // served the status is exactly §4.6's.
        let (services, backends) = match self.ssl.plan_backends {
            Some(b) => (
                self.plan_services.saturating_sub(1),
                self.plan_backends.saturating_sub(b),
            ),
            None => (self.plan_services, self.plan_backends),
        };
        let served = match (services, backends) {
            (0, _) if ssl_part.is_some() => None,
            (0, _) if self.ssl.related => Some("Ready".to_owned()),
            (0, _) => Some("ready, no services yet".to_owned()),
            (s, b) => Some(format!(
                "{s} service{}, {b} backend{}",
                if s == 1 { "" } else { "s" },
                if b == 1 { "" } else { "s" }
            )),
        };
        let mut parts = Vec::new();
        let kind = if let Some(error) = &self.apply_error {
            parts.push(format!(
                "haproxy refused the new config, still serving the previous one: {error}"
            ));
            WorkloadStatus::Blocked
        } else if !self.config_problems.is_empty() {
            parts.push(format!(
                "config: {} (serving the last valid values)",
                self.config_problems.join("; ")
            ));
            parts.extend(served);
            WorkloadStatus::Blocked
        } else {
            parts.extend(served);
            WorkloadStatus::Active
        };
        let kind = match ssl_part {
            Some((ssl_kind, text)) => {
                parts.push(text);
                worst(kind, ssl_kind)
            }
            None => kind,
        };
        if !self.rejections.is_empty() {
            parts.push(format!(
                "{} rejected: {}",
                self.rejections.len(),
                self.rejections.join("; ")
            ));
        }
        let mut message = parts.join("; ");
        if message.chars().count() > MAX_MESSAGE {
            message = message.chars().take(MAX_MESSAGE - 1).collect::<String>() + "…";
        }
        (kind, message)
    }
}

pub fn set(tools: &HookTools, summary: &Summary) -> Result<(), ToolError> {
    let (kind, message) = summary.status();
    tools.status_set(kind, &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            plan_services: 2,
            plan_backends: 3,
            config_problems: vec![],
            rejections: vec![],
            lb: LbStatus::default(),
            ssl: SslStatus::default(),
            apply_error: None,
        }
    }

    #[test]
    fn ssl_sites_all_ready_are_named() {
        let s = Summary {
            ssl: SslStatus {
                ready: vec!["a.example.com".into(), "b.example.com".into()],
                ..SslStatus::default()
            },
            ..summary()
        };
        assert_eq!(
            s.status(),
            (
                WorkloadStatus::Active,
                "2 services, 3 backends; Ready (a.example.com, b.example.com)".into()
            )
        );
    }

    #[test]
    fn a_pending_site_waits_and_a_failed_one_blocks() {
        let pending = Summary {
            ssl: SslStatus {
                plan_backends: Some(1),
                related: true,
                ready: vec!["a.example.com".into()],
                pending: 2,
                not_ready: vec![],
            },
            ..summary()
        };
        assert_eq!(
            pending.status(),
            (
                WorkloadStatus::Waiting,
                "1 service, 2 backends; Obtaining certificates (2 pending)".into()
            )
        );
        let failed = Summary {
            ssl: SslStatus {
                plan_backends: None,
                related: true,
                ready: vec!["a.example.com".into()],
                pending: 1,
                not_ready: vec!["b.example.com failed".into()],
            },
            ..summary()
        };
        assert_eq!(
            failed.status(),
            (
                WorkloadStatus::Blocked,
                "2 services, 3 backends; 2 of 3 sites not ready: b.example.com failed".into()
            )
        );
    }

    #[test]
    fn ssl_termination_alone_is_worded_exactly_as_its_spec_says() {
        let alone = Summary {
            plan_services: 1,
            plan_backends: 3,
            ssl: SslStatus {
                plan_backends: Some(3),
                ready: vec!["a.example.com".into(), "b.example.com".into()],
                ..SslStatus::default()
            },
            ..summary()
        };
        assert_eq!(
            alone.status(),
            (
                WorkloadStatus::Active,
                "Ready (a.example.com, b.example.com)".into()
            )
        );
        let beside = Summary {
            plan_services: 3,
            plan_backends: 5,
            ..alone.clone()
        };
        assert_eq!(
            beside.status().1,
            "2 services, 2 backends; Ready (a.example.com, b.example.com)"
        );
    }

    #[test]
    fn ssl_termination_related_without_sites_is_ready() {
        let s = Summary {
            plan_services: 0,
            plan_backends: 0,
            ssl: SslStatus {
                related: true,
                ..SslStatus::default()
            },
            ..summary()
        };
        assert_eq!(s.status(), (WorkloadStatus::Active, "Ready".into()));
        let unrelated = Summary {
            ssl: SslStatus::default(),
            ..s
        };
        assert_eq!(unrelated.status().1, "ready, no services yet");
    }

    #[test]
    fn active_names_services_and_backends() {
        assert_eq!(
            summary().status(),
            (WorkloadStatus::Active, "2 services, 3 backends".into())
        );
    }

    #[test]
    fn rejections_stay_active_and_are_listed() {
        let s = Summary {
            rejections: vec!["web/2: port: 'http' is not a port number 1-65535".into()],
            ..summary()
        };
        let (kind, message) = s.status();
        assert_eq!(kind, WorkloadStatus::Active);
        assert_eq!(
            message,
            "2 services, 3 backends; 1 rejected: web/2: port: 'http' is not a port number 1-65535"
        );
    }

    #[test]
    fn config_problems_block() {
        let s = Summary {
            config_problems: vec!["global_maxconn = 'x': not a number".into()],
            ..summary()
        };
        let (kind, message) = s.status();
        assert_eq!(kind, WorkloadStatus::Blocked);
        assert!(message.starts_with("config: global_maxconn"), "{message}");
    }

    #[test]
    fn haproxy_refusal_blocks_and_says_the_old_config_serves() {
        let s = Summary {
            apply_error: Some("[ALERT] parsing [haproxy.cfg:8]".into()),
            ..summary()
        };
        let (kind, message) = s.status();
        assert_eq!(kind, WorkloadStatus::Blocked);
        assert!(
            message.contains("still serving the previous one"),
            "{message}"
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let s = Summary {
            rejections: vec!["x".repeat(5000)],
            ..summary()
        };
        assert_eq!(s.status().1.chars().count(), MAX_MESSAGE);
    }
}
