//! The ACME conversation (`spec/ssl-termination.md` §4.5) through `instant-acme`: an account
//! per (directory, contact) kept 0600 under the state dir, then one order per site, HTTP-01
//! challenges published on a [`ChallengeBoard`] (HAProxy's map, §4.4), finalize, chain.
//!
//! Async inside, blocking outside: [`Client::issue`] runs a current-thread runtime with a
//! deadline, so a hook never waits on a CA forever. Tokens and key authorizations are checked
//! against `haproxy.md` §5's allow-list before they reach the board (they go into runtime
//! commands and a map file).

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where HTTP-01 answers are published: the running HAProxy and its map file.
pub trait ChallengeBoard {
    fn publish(&self, token: &str, key_authorization: &str) -> Result<(), String>;
    fn withdraw(&self, token: &str);
}

/// What went wrong, with the name it concerns and the CA's problem type and detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("acme: {fqdn}: {problem}")]
pub struct IssueError {
    pub fqdn: String,
    pub problem: String,
}

pub struct Issued {
    /// Leaf + intermediates.
    pub chain_pem: String,
    /// ECDSA P-256 key (PKCS#8 PEM).
    pub key_pem: String,
}

/// How to reach the CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    pub url: String,
    /// PEM of the CA of the ACME server's HTTPS certificate (`acme_ca_certificate`).
    pub ca_certificate: Option<String>,
    pub contact: Option<String>,
}

pub struct Client {
    /// `<state>/acme`: account files and the CA file instant-acme reads.
    pub account_dir: PathBuf,
    pub directory: Directory,
}

fn token_ok(token: &str) -> bool {
    (1..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn key_authorization_ok(token: &str, key_authorization: &str) -> bool {
    key_authorization
        .strip_prefix(token)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|thumb| thumb.len() == 43 && token_ok(thumb))
}

fn problem(error: &instant_acme::Error) -> String {
    match error {
        instant_acme::Error::Api(p) => {
            let kind = p.r#type.as_deref().unwrap_or("error");
            match &p.detail {
                Some(detail) => format!("{kind}: {detail}"),
                None => kind.to_owned(),
            }
        }
        other => other.to_string(),
    }
}

impl Client {
    /// The account file for this directory and contact (§4.3: sha256 of url + contact).
    pub fn account_file(&self) -> PathBuf {
        let id = format!(
            "{}\n{}",
            self.directory.url,
            self.directory.contact.as_deref().unwrap_or("")
        );
        let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        self.account_dir.join(format!("{hex}.json"))
    }

    /// Issue one certificate for `names` (the first is the site's primary), within `deadline`.
    pub fn issue(
        &self,
        names: &[String],
        board: &dyn ChallengeBoard,
        deadline: Duration,
    ) -> Result<Issued, IssueError> {
        let primary = names.first().cloned().unwrap_or_default();
        let fail = |problem: String| IssueError {
            fqdn: primary.clone(),
            problem,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fail(format!("cannot start the ACME runtime: {e}")))?;
        let mut published = Vec::new();
        let result = runtime.block_on(async {
            match tokio::time::timeout(deadline, self.order(names, board, &mut published)).await {
                Ok(result) => result,
                Err(_) => Err(fail(format!("no answer within {}s", deadline.as_secs()))),
            }
        });
        for token in &published {
            board.withdraw(token);
        }
        result
    }

    async fn account(&self) -> Result<Account, IssueError> {
        let fail = |problem: String| IssueError {
            fqdn: self.directory.url.clone(),
            problem,
        };
        let ca_file = match &self.directory.ca_certificate {
            Some(pem) => {
                let ca_file = self.account_dir.join("acme-ca.pem");
                super::state::write_private(&ca_file, pem.as_bytes())
                    .map_err(|e| fail(e.to_string()))?;
                Some(ca_file)
            }
            None => None,
        };
        let builder = Account::builder_with_http(Box::new(super::http::CurlClient { ca_file }));
        let file = self.account_file();
        if let Some(credentials) = read_credentials(&file) {
            return builder
                .from_credentials(credentials)
                .await
                .map_err(|e| fail(problem(&e)));
        }
        let contact = self
            .directory
            .contact
            .as_ref()
            .map(|c| format!("mailto:{c}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let (account, credentials) = builder
            .create(
                &NewAccount {
                    contact: &contacts,
                    // The original provider accepted the terms automatically too (§4.5).
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.directory.url.clone(),
                None,
            )
            .await
            .map_err(|e| fail(problem(&e)))?;
        let bytes = serde_json::to_vec(&credentials).map_err(|e| fail(e.to_string()))?;
        super::state::write_private(&file, &bytes).map_err(|e| fail(e.to_string()))?;
        Ok(account)
    }

    async fn order(
        &self,
        names: &[String],
        board: &dyn ChallengeBoard,
        published: &mut Vec<String>,
    ) -> Result<Issued, IssueError> {
        let primary = names.first().cloned().unwrap_or_default();
        let fail = |fqdn: &str, problem: String| IssueError {
            fqdn: fqdn.to_owned(),
            problem,
        };
        let account = self.account().await?;
        let identifiers: Vec<Identifier> =
            names.iter().map(|n| Identifier::Dns(n.clone())).collect();
        let mut order = account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(|e| fail(&primary, problem(&e)))?;
        let mut authorizations = order.authorizations();
        while let Some(result) = authorizations.next().await {
            let mut authz = result.map_err(|e| fail(&primary, problem(&e)))?;
            let fqdn = authz.identifier().to_string();
            match authz.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => return Err(fail(&fqdn, format!("authorization is {other:?}"))),
            }
            let mut challenge = authz
                .challenge(ChallengeType::Http01)
                .ok_or_else(|| fail(&fqdn, "the CA offers no http-01 challenge".into()))?;
            let token = challenge.token.clone();
            let key_authorization = challenge.key_authorization().as_str().to_owned();
            if !token_ok(&token) || !key_authorization_ok(&token, &key_authorization) {
                return Err(fail(&fqdn, "the CA sent a malformed http-01 token".into()));
            }
            board
                .publish(&token, &key_authorization)
                .map_err(|e| fail(&fqdn, format!("cannot publish the challenge: {e}")))?;
            published.push(token);
            challenge
                .set_ready()
                .await
                .map_err(|e| fail(&fqdn, problem(&e)))?;
        }
        let policy = RetryPolicy::default().timeout(Duration::from_secs(90));
        let status = order
            .poll_ready(&policy)
            .await
            .map_err(|e| fail(&primary, problem(&e)))?;
        if status != OrderStatus::Ready {
            return Err(self.why_invalid(&mut order, &primary).await);
        }
        let key_pem = order
            .finalize()
            .await
            .map_err(|e| fail(&primary, problem(&e)))?;
        let chain_pem = order
            .poll_certificate(&policy)
            .await
            .map_err(|e| fail(&primary, problem(&e)))?;
        Ok(Issued { chain_pem, key_pem })
    }

    /// The CA's reason an order went invalid: the first failed challenge's problem.
    async fn why_invalid(&self, order: &mut instant_acme::Order, primary: &str) -> IssueError {
        let mut authorizations = order.authorizations();
        while let Some(Ok(authz)) = authorizations.next().await {
            let fqdn = authz.identifier().to_string();
            for challenge in &authz.challenges {
                if let Some(p) = &challenge.error {
                    let kind = p.r#type.as_deref().unwrap_or("error");
                    let detail = p.detail.as_deref().unwrap_or("");
                    return IssueError {
                        fqdn,
                        problem: format!("{kind}: {detail}"),
                    };
                }
            }
        }
        IssueError {
            fqdn: primary.to_owned(),
            problem: "the order became invalid".into(),
        }
    }
}

fn read_credentials(file: &Path) -> Option<AccountCredentials> {
    let bytes = std::fs::read(file).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_key_authorizations_are_allow_listed() {
        let thumb = "a".repeat(43);
        assert!(key_authorization_ok("tok_-1", &format!("tok_-1.{thumb}")));
        assert!(!key_authorization_ok("tok", &format!("other.{thumb}")));
        assert!(!key_authorization_ok("tok", "tok.short"));
        assert!(!token_ok("to ken"));
        assert!(!token_ok("tok;show map"));
        assert!(!token_ok(""));
    }

    #[test]
    fn account_files_differ_by_directory_and_contact() {
        let client = |url: &str, contact: Option<&str>| Client {
            account_dir: "/var/lib/haproxy-lb/acme".into(),
            directory: Directory {
                url: url.into(),
                ca_certificate: None,
                contact: contact.map(Into::into),
            },
        };
        let a = client("https://a/dir", None).account_file();
        assert_ne!(a, client("https://b/dir", None).account_file());
        assert_ne!(a, client("https://a/dir", Some("x@y.z")).account_file());
        assert!(a.to_string_lossy().ends_with(".json"));
    }
}
