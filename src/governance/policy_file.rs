//! Policy as code: every agent level and policy record as a TOML (or JSON)
//! document that can be reviewed in a pull request, exported from a store and
//! imported into one in a single transaction.
//!
//! An import sets each record to the status the document gives it, so a
//! `[[pending]]` entry replaces an approval of the same range (unlike
//! `request_approval`). Expiry times are taken as written, even past ones,
//! so that importing an export restores it. An entry without `approved_by`
//! or `banned_by` is recorded as the importer's.
//!
//! ```toml
//! [[agents]]
//! id = "agent-7"
//! maturity = "supervised"
//!
//! [[approve]]
//! requirement = "numpy>=1.26,<2"
//! min_maturity = "intern"            # optional; intern by default
//! approved_by = "alice"              # optional
//! expires_at = "2027-06-30T00:00:00Z"  # optional
//! package_type = "python"            # optional; "python" or "npm"
//!
//! [[ban]]
//! requirement = "requests<2.32"
//! reason = "CVE-2024-35195"
//!
//! [[untrusted]]
//! requirement = "leftpad"
//!
//! [[pending]]
//! requirement = "attrs"
//! requested_by = "agent-7"
//! ```

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::policy::{self, Change, Expiry, ListFilter, PolicyKey};
use super::{maturity, set_agent_state, validate_agent_id, Governance};
use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};

/// The document's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    /// Parses `toml` or `json`, case-insensitively.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "toml" => Ok(Format::Toml),
            "json" => Ok(Format::Json),
            _ => Err(Error::InvalidArgument(format!("invalid policy format {text:?}: expected toml or json"))),
        }
    }

    /// JSON for a `.json` path, TOML otherwise.
    pub fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|extension| extension.to_str()) {
            Some(extension) if extension.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Toml,
        }
    }
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PolicyDocument {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    agents: Vec<AgentEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    approve: Vec<ApproveEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ban: Vec<BanEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    untrusted: Vec<UntrustedEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pending: Vec<PendingEntry>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct AgentEntry {
    id: String,
    maturity: String,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ApproveEntry {
    requirement: String,
    #[serde(default = "default_maturity")]
    min_maturity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    package_type: Option<String>,
}

fn default_maturity() -> String {
    "intern".into()
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct BanEntry {
    requirement: String,
    reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    banned_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    package_type: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct UntrustedEntry {
    requirement: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    package_type: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PendingEntry {
    requirement: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    package_type: Option<String>,
}

/// The counts of what an import wrote.
#[derive(Debug, Default, Serialize)]
pub struct PolicySummary {
    pub agents: usize,
    pub approvals: usize,
    pub bans: usize,
    pub untrusted: usize,
    pub pending: usize,
    /// Records removed because the document did not hold them (`replace`).
    pub revoked: usize,
}

/// One validated record of a document, ready to write.
struct Planned<'a> {
    key: PolicyKey,
    status: &'static str,
    min_maturity: Option<&'static str>,
    reason: Option<&'a str>,
    actor: Option<&'a str>,
    requested_by: Option<&'a str>,
    expiry: Option<Expiry>,
    action: &'static str,
}

/// Writes every agent and record of the store as a document.
pub fn export(governance: &Governance, format: Format) -> Result<String> {
    let mut document = PolicyDocument::default();
    for (id, maturity) in governance.agents()? {
        document.agents.push(AgentEntry { id, maturity });
    }
    let non_default_type = |package_type: &str| (package_type != "python").then(|| package_type.to_string());
    for record in governance.list(&ListFilter::default())? {
        let package_type = non_default_type(&record.package_type);
        let requirement = record.requirement();
        match record.status.as_str() {
            policy::STATUS_ACTIVE => document.approve.push(ApproveEntry {
                requirement,
                min_maturity: record.min_maturity.unwrap_or_else(|| "intern".into()),
                approved_by: record.approved_by,
                expires_at: record.expires_at,
                package_type,
            }),
            policy::STATUS_BANNED => document.ban.push(BanEntry {
                requirement,
                reason: record.reason.unwrap_or_else(|| "no reason given".into()),
                banned_by: record.banned_by,
                expires_at: record.expires_at,
                package_type,
            }),
            policy::STATUS_UNTRUSTED => document.untrusted.push(UntrustedEntry { requirement, reason: record.reason, package_type }),
            _ => document.pending.push(PendingEntry {
                requirement,
                requested_by: record.requested_by,
                reason: record.reason,
                package_type,
            }),
        }
    }
    match format {
        Format::Toml => toml::to_string_pretty(&document).map_err(|error| Error::InvalidArgument(format!("failed to write policy as TOML: {error}"))),
        Format::Json => serde_json::to_string_pretty(&document).map_err(|error| Error::InvalidArgument(format!("failed to write policy as JSON: {error}"))),
    }
}

/// Reads a policy file and imports it; see [`import`].
pub fn import_file(governance: &Governance, path: &Path, actor: &str, replace: bool) -> Result<PolicySummary> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::io("failed to read policy file", path, error))?;
    import(governance, &text, Format::for_path(path), &path.display().to_string(), actor, replace)
}

/// Imports a document: every entry is checked first, then all are written in
/// one transaction, so a bad entry or a failed write changes nothing. With
/// `replace`, records the document does not hold are revoked in the same
/// transaction, so the store ends up holding exactly the document.
/// `source` names the document in messages and in the audit log.
pub fn import(governance: &Governance, text: &str, format: Format, source: &str, actor: &str, replace: bool) -> Result<PolicySummary> {
    let invalid = |reason: String| Error::InvalidArgument(format!("invalid policy file {source}: {reason}"));
    let document: PolicyDocument = match format {
        Format::Toml => toml::from_str(text).map_err(|error| invalid(error.to_string()))?,
        Format::Json => serde_json::from_str(text).map_err(|error| invalid(error.to_string()))?,
    };

    let mut agents = Vec::with_capacity(document.agents.len());
    for entry in &document.agents {
        let id = validate_agent_id(&entry.id).map_err(|error| invalid(error.to_string()))?;
        let state = maturity::canonical_state(&entry.maturity).map_err(|reason| invalid(format!("agent {id}: {reason}")))?;
        agents.push((id, state));
    }

    let key = |package_type: &Option<String>, requirement: &str| {
        PolicyKey::parse(package_type.as_deref().unwrap_or("python"), requirement)
            .map_err(|error| invalid(format!("{requirement}: {error}")))
    };
    let expiry = |text: &Option<String>| text.as_ref().map(|text| Expiry::Recorded(text.clone()));
    let mut planned: Vec<Planned<'_>> = Vec::new();
    for entry in &document.approve {
        let level = maturity::canonical_level(&entry.min_maturity).map_err(|reason| invalid(format!("{}: {reason}", entry.requirement)))?;
        planned.push(Planned {
            key: key(&entry.package_type, &entry.requirement)?,
            status: policy::STATUS_ACTIVE,
            min_maturity: Some(level),
            reason: None,
            actor: Some(entry.approved_by.as_deref().unwrap_or(actor)),
            requested_by: None,
            expiry: expiry(&entry.expires_at),
            action: "package_approved",
        });
    }
    for entry in &document.ban {
        if entry.reason.trim().is_empty() {
            return Err(invalid(format!("{}: a ban needs a reason", entry.requirement)));
        }
        planned.push(Planned {
            key: key(&entry.package_type, &entry.requirement)?,
            status: policy::STATUS_BANNED,
            min_maturity: None,
            reason: Some(entry.reason.trim()),
            actor: Some(entry.banned_by.as_deref().unwrap_or(actor)),
            requested_by: None,
            expiry: expiry(&entry.expires_at),
            action: "package_banned",
        });
    }
    for entry in &document.untrusted {
        planned.push(Planned {
            key: key(&entry.package_type, &entry.requirement)?,
            status: policy::STATUS_UNTRUSTED,
            min_maturity: None,
            reason: entry.reason.as_deref(),
            actor: Some(actor),
            requested_by: None,
            expiry: None,
            action: "package_untrusted",
        });
    }
    for entry in &document.pending {
        planned.push(Planned {
            key: key(&entry.package_type, &entry.requirement)?,
            status: policy::STATUS_PENDING,
            min_maturity: None,
            reason: entry.reason.as_deref(),
            actor: Some(actor),
            requested_by: entry.requested_by.as_deref(),
            expiry: None,
            action: "package_requested",
        });
    }
    let mut seen = HashSet::new();
    for plan in &planned {
        if !seen.insert((plan.key.package_type, plan.key.name.as_str(), plan.key.specifier.as_str())) {
            return Err(invalid(format!(
                "{}{} appears more than once; each range may have one status",
                plan.key.name, plan.key.specifier
            )));
        }
    }

    let mut summary = PolicySummary::default();
    {
        let mut connection = governance.store().lock();
        let transaction = connection.transaction()?;
        for (id, state) in &agents {
            set_agent_state(&transaction, id, state, Some(actor))?;
            summary.agents += 1;
        }
        for plan in &planned {
            policy::write(&transaction, &Change {
                key: &plan.key,
                status: plan.status,
                min_maturity: plan.min_maturity,
                reason: plan.reason,
                actor: plan.actor,
                requested_by: plan.requested_by,
                expiry: plan.expiry.as_ref(),
                action: plan.action,
            })
            .map_err(|error| invalid(format!("{}{}: {error}", plan.key.name, plan.key.specifier)))?;
            match plan.status {
                policy::STATUS_ACTIVE => summary.approvals += 1,
                policy::STATUS_BANNED => summary.bans += 1,
                policy::STATUS_UNTRUSTED => summary.untrusted += 1,
                _ => summary.pending += 1,
            }
        }
        if replace {
            for record in policy::list(&transaction, &ListFilter::default())? {
                if seen.contains(&(record.package_type.as_str(), record.name.as_str(), record.specifier.as_str())) {
                    continue;
                }
                let key = PolicyKey::parse(&record.package_type, &record.requirement())?;
                policy::delete(&transaction, &key, Some(actor), Some(&format!("not in policy file {source}")))?;
                summary.revoked += 1;
            }
        }
        audit::record(
            &transaction,
            &AuditEvent {
                action: "policy_imported",
                actor: Some(actor),
                detail: json!({ "source": source, "replace": replace, "summary": summary }),
                ..Default::default()
            },
        )?;
        transaction.commit()?;
    }
    governance.clear_cache();
    Ok(summary)
}
