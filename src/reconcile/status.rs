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
    pub apply_error: Option<String>,
}

impl Summary {
    pub fn status(&self) -> (WorkloadStatus, String) {
        let served = match (self.plan_services, self.plan_backends) {
            (0, _) => "ready, no services yet".to_owned(),
            (s, b) => format!(
                "{s} service{}, {b} backend{}",
                if s == 1 { "" } else { "s" },
                if b == 1 { "" } else { "s" }
            ),
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
            parts.push(served);
            WorkloadStatus::Blocked
        } else {
            parts.push(served);
            WorkloadStatus::Active
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
            apply_error: None,
        }
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
