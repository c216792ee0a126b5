//! Governance: which agent may use which package version, decided by policy
//! records in the store.

pub mod maturity;
mod policy;
pub mod policy_file;

use std::str::FromStr;
use std::sync::Arc;

use pep508_rs::pep440_rs::Version;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};
use crate::requirement::normalize_name;
use crate::store::{Store, NOW};

pub use policy::{PolicyRecord, STATUS_ACTIVE, STATUS_BANNED, STATUS_PENDING};

/// Looks up an agent's maturity in the host application (for example its own
/// agents table). `Ok(None)` means the agent is unknown there.
pub type MaturityResolver = Arc<dyn Fn(&str) -> Result<Option<String>> + Send + Sync>;

/// The decision on "may this agent use this package version?".
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// The lowest maturity an approval requires, when a record matched.
    pub maturity_required: Option<String>,
    pub reason: String,
    /// The rule that decided: `banned`, `agent_inactive`, `student`, `pending`,
    /// `not_in_registry`, `maturity_too_low` or `approved`.
    pub rule: &'static str,
    /// The policy record the rule matched, if any.
    pub record: Option<PolicyRecord>,
}

impl Decision {
    fn deny(rule: &'static str, reason: String, record: Option<PolicyRecord>) -> Self {
        Decision {
            allowed: false,
            maturity_required: record.as_ref().and_then(|record| record.min_maturity.clone()),
            reason,
            rule,
            record,
        }
    }
}

/// The governance engine over one store.
#[derive(Clone)]
pub struct Governance {
    store: Store,
    resolver: Option<MaturityResolver>,
}

impl Governance {
    /// Creates the engine; `resolver`, when given, is the source of agent maturity.
    pub fn new(store: Store, resolver: Option<MaturityResolver>) -> Self {
        Governance { store, resolver }
    }

    /// Returns the store the engine reads and writes.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records an agent's maturity level or inactive state in skillguard's own agents table.
    pub fn set_agent_maturity(&self, agent_id: &str, state: &str, actor: Option<&str>) -> Result<()> {
        let agent_id = validate_agent_id(agent_id)?;
        let state = maturity::canonical_state(state).map_err(Error::InvalidArgument)?;

        let mut connection = self.store.lock();
        let transaction = connection.transaction()?;
        let before: Option<String> = transaction
            .query_row("SELECT maturity FROM agents WHERE agent_id = ?1", [agent_id], |row| row.get(0))
            .optional()?;
        transaction.execute(
            &format!(
                "INSERT INTO agents (agent_id, maturity, updated_at) VALUES (?1, ?2, {NOW})
                 ON CONFLICT (agent_id) DO UPDATE SET maturity = excluded.maturity, updated_at = excluded.updated_at"
            ),
            params![agent_id, state],
        )?;
        audit::record(
            &transaction,
            &AuditEvent {
                action: "agent_maturity_set",
                actor,
                agent_id: Some(agent_id),
                detail: json!({ "before": before, "after": state }),
                ..Default::default()
            },
        )?;
        transaction.commit()?;
        Ok(())
    }

    /// Returns the agent's state: from the resolver if one was given, else from the agents table.
    pub fn agent_state(&self, agent_id: &str) -> Result<Option<String>> {
        if let Some(resolver) = &self.resolver {
            return resolver(agent_id);
        }
        let connection = self.store.lock();
        Ok(connection
            .query_row("SELECT maturity FROM agents WHERE agent_id = ?1", [agent_id], |row| row.get(0))
            .optional()?)
    }

    /// Decides whether `agent_id` may use `name` at the exact `version`.
    ///
    /// The rules apply in order. A matching ban denies everyone. An agent that
    /// is not at a maturity level (paused, stopped, unknown states) is denied,
    /// and so is a student or an unknown agent. With no matching active record
    /// the package is pending or not in the registry. Otherwise the agent needs
    /// at least the lowest minimum maturity among the matching active records.
    pub fn check(&self, agent_id: &str, name: &str, version: &str) -> Result<Decision> {
        let name = normalize_name(name);
        let parsed_version = Version::from_str(version.trim()).map_err(|error| {
            Error::InvalidArgument(format!("invalid version {version:?} for package {name}: {error}"))
        })?;
        let records = policy::records_for(&self.store, "python", &name)?;
        let matching: Vec<&PolicyRecord> = records
            .iter()
            .filter(|record| record.matches(&parsed_version))
            .collect();

        if let Some(ban) = matching.iter().find(|record| record.status == STATUS_BANNED) {
            let reason = ban.reason.clone().unwrap_or_else(|| "no reason given".into());
            return Ok(Decision::deny(
                "banned",
                format!("{name} {version} is banned ({}): {reason}", ban.describe_range()),
                Some((*ban).clone()),
            ));
        }

        let state = self.agent_state(agent_id)?.unwrap_or_else(|| "student".to_string());
        let Some(agent_rank) = maturity::rank(&state) else {
            return Ok(Decision::deny(
                "agent_inactive",
                format!("agent {agent_id} is {state}, not at a maturity level, so it may use no package"),
                None,
            ));
        };
        if agent_rank == 0 {
            return Ok(Decision::deny(
                "student",
                format!("agent {agent_id} is a student; students may not use third-party packages"),
                None,
            ));
        }

        let active: Vec<&PolicyRecord> = matching
            .iter()
            .copied()
            .filter(|record| record.status == STATUS_ACTIVE)
            .collect();
        let Some(lowest) = active
            .iter()
            .min_by_key(|record| record.min_maturity.as_deref().and_then(maturity::rank).unwrap_or(0))
        else {
            if let Some(pending) = matching.iter().find(|record| record.status == STATUS_PENDING) {
                return Ok(Decision::deny(
                    "pending",
                    format!("{name} {version} is pending approval"),
                    Some((*pending).clone()),
                ));
            }
            return Ok(Decision::deny(
                "not_in_registry",
                format!("{name} {version} is not in the package registry; request approval first"),
                None,
            ));
        };

        let required = lowest.min_maturity.clone().unwrap_or_else(|| "intern".into());
        let required_rank = maturity::rank(&required).unwrap_or(1);
        if agent_rank < required_rank {
            return Ok(Decision::deny(
                "maturity_too_low",
                format!("{name} {version} requires maturity {required}; agent {agent_id} is {}", state.to_lowercase()),
                Some((*lowest).clone()),
            ));
        }
        Ok(Decision {
            allowed: true,
            reason: format!("{name} {version} is approved ({}) for {required} and above", lowest.describe_range()),
            maturity_required: Some(required),
            rule: "approved",
            record: Some((*lowest).clone()),
        })
    }

    /// Approves a requirement (`numpy>=1.26,<2`, or a bare name for every version).
    pub fn approve(&self, requirement: &str, min_maturity: &str, approved_by: Option<&str>) -> Result<PolicyRecord> {
        let level = maturity::canonical_level(min_maturity).map_err(Error::InvalidArgument)?;
        policy::upsert(&self.store, policy::Change {
            requirement,
            status: STATUS_ACTIVE,
            min_maturity: Some(level),
            reason: None,
            actor: approved_by,
            action: "package_approved",
        })
    }

    /// Bans a requirement for every agent; a reason is required.
    pub fn ban(&self, requirement: &str, reason: &str, banned_by: Option<&str>) -> Result<PolicyRecord> {
        if reason.trim().is_empty() {
            return Err(Error::InvalidArgument(format!("a ban of {requirement:?} needs a reason")));
        }
        policy::upsert(&self.store, policy::Change {
            requirement,
            status: STATUS_BANNED,
            min_maturity: None,
            reason: Some(reason),
            actor: banned_by,
            action: "package_banned",
        })
    }

    /// Records a request for approval. An existing active or banned record is left unchanged.
    pub fn request_approval(&self, requirement: &str, requested_by: Option<&str>, reason: Option<&str>) -> Result<PolicyRecord> {
        policy::request(&self.store, requirement, requested_by, reason)
    }

    /// Lists policy records, optionally only those with one status.
    pub fn list(&self, status: Option<&str>) -> Result<Vec<PolicyRecord>> {
        policy::list(&self.store, status)
    }

    /// Records a denial in the audit log.
    pub fn audit_denial(&self, agent_id: &str, skill_id: Option<&str>, package: &str, reason: &str) -> Result<()> {
        let connection = self.store.lock();
        audit::record(
            &connection,
            &AuditEvent {
                action: "package_denied",
                agent_id: Some(agent_id),
                skill_id,
                package: Some(package),
                detail: json!({ "reason": reason }),
                ..Default::default()
            },
        )
    }
}

fn validate_agent_id(agent_id: &str) -> Result<&str> {
    let trimmed = agent_id.trim();
    if trimmed.is_empty() || trimmed.len() > 256 {
        return Err(Error::InvalidArgument(format!(
            "invalid agent id {agent_id:?}: expected 1 to 256 characters"
        )));
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn governance() -> Governance {
        Governance::new(Store::open(Some(":memory:")).unwrap(), None)
    }

    #[test]
    fn approval_range_allows_inside_and_denies_outside() {
        let governance = governance();
        governance.set_agent_maturity("agent-7", "supervised", None).unwrap();
        governance.approve("numpy>=1.26,<2", "intern", Some("alice")).unwrap();

        let inside = governance.check("agent-7", "NumPy", "1.26.4").unwrap();
        assert!(inside.allowed, "{inside:?}");
        let outside = governance.check("agent-7", "numpy", "2.0.0").unwrap();
        assert!(!outside.allowed);
        assert_eq!(outside.rule, "not_in_registry");
    }

    #[test]
    fn ban_wins_over_approval() {
        let governance = governance();
        governance.set_agent_maturity("agent-7", "autonomous", None).unwrap();
        governance.approve("requests", "intern", None).unwrap();
        governance.ban("requests<2.32", "CVE-2024-35195", None).unwrap();

        let old = governance.check("agent-7", "requests", "2.31.0").unwrap();
        assert_eq!(old.rule, "banned");
        assert!(old.reason.contains("CVE-2024-35195"), "{}", old.reason);
        assert!(governance.check("agent-7", "requests", "2.32.0").unwrap().allowed);
    }

    #[test]
    fn maturity_below_minimum_is_denied() {
        let governance = governance();
        governance.set_agent_maturity("agent-1", "intern", None).unwrap();
        governance.approve("pandas", "supervised", None).unwrap();
        let decision = governance.check("agent-1", "pandas", "2.2.0").unwrap();
        assert_eq!(decision.rule, "maturity_too_low");
        assert_eq!(decision.maturity_required.as_deref(), Some("supervised"));
    }

    #[test]
    fn unknown_and_paused_agents_denied() {
        let governance = governance();
        governance.approve("six", "intern", None).unwrap();
        assert_eq!(governance.check("nobody", "six", "1.16.0").unwrap().rule, "student");
        governance.set_agent_maturity("agent-2", "Paused", None).unwrap();
        assert_eq!(governance.check("agent-2", "six", "1.16.0").unwrap().rule, "agent_inactive");
    }

    #[test]
    fn pending_request_is_reported_and_does_not_downgrade() {
        let governance = governance();
        governance.set_agent_maturity("agent-3", "intern", None).unwrap();
        governance.request_approval("attrs", Some("agent-3"), Some("parsing")).unwrap();
        assert_eq!(governance.check("agent-3", "attrs", "23.1.0").unwrap().rule, "pending");

        governance.approve("idna", "intern", None).unwrap();
        let record = governance.request_approval("idna", Some("agent-3"), None).unwrap();
        assert_eq!(record.status, STATUS_ACTIVE);
        assert!(governance.check("agent-3", "idna", "3.7").unwrap().allowed);
    }

    #[test]
    fn changes_are_audited_in_order() {
        let governance = governance();
        governance.approve("six", "intern", Some("alice")).unwrap();
        governance.ban("six<1.10", "old", Some("bob")).unwrap();
        let connection = governance.store().lock();
        let entries = audit::recent(&connection, None, 10).unwrap();
        let actions: Vec<&str> = entries.iter().map(|entry| entry.action.as_str()).collect();
        assert_eq!(actions, vec!["package_banned", "package_approved"]);
        assert_eq!(entries[0].actor.as_deref(), Some("bob"));
    }

    #[test]
    fn invalid_inputs_name_the_value() {
        let governance = governance();
        let error = governance.approve("six", "wizard", None).unwrap_err();
        assert!(error.to_string().contains("\"wizard\""), "{error}");
        let error = governance.check("a", "six", "not a version").unwrap_err();
        assert!(error.to_string().contains("\"not a version\""), "{error}");
        let error = governance.ban("six", "  ", None).unwrap_err();
        assert!(error.to_string().contains("needs a reason"), "{error}");
    }
}
