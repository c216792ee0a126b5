//! Applying a policy file: agent maturity levels, approvals and bans as TOML.

use std::path::Path;

use serde::Deserialize;

use super::Governance;
use crate::error::{Error, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    agents: Vec<AgentEntry>,
    #[serde(default)]
    approve: Vec<ApproveEntry>,
    #[serde(default)]
    ban: Vec<BanEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentEntry {
    id: String,
    maturity: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveEntry {
    requirement: String,
    min_maturity: String,
    approved_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BanEntry {
    requirement: String,
    reason: String,
    banned_by: Option<String>,
}

/// The counts of entries a policy file applied.
#[derive(Debug, Default, serde::Serialize)]
pub struct PolicySummary {
    pub agents: usize,
    pub approvals: usize,
    pub bans: usize,
}

/// Applies a TOML policy file. Every entry is checked before any is written,
/// so a malformed file changes nothing.
// TODO: the entries are written one transaction each; a database failure
// part-way leaves the earlier entries applied.
pub fn apply(governance: &Governance, path: &Path, actor: &str) -> Result<PolicySummary> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::io("failed to read policy file", path, error))?;
    let file: PolicyFile = toml::from_str(&text)
        .map_err(|error| Error::InvalidArgument(format!("invalid policy file {}: {error}", path.display())))?;

    for entry in &file.agents {
        super::maturity::canonical_state(&entry.maturity)
            .map_err(|reason| Error::InvalidArgument(format!("invalid policy file {}: agent {}: {reason}", path.display(), entry.id)))?;
    }
    for entry in &file.approve {
        super::maturity::canonical_level(&entry.min_maturity)
            .map_err(|reason| Error::InvalidArgument(format!("invalid policy file {}: {}: {reason}", path.display(), entry.requirement)))?;
        crate::requirement::parse_requirement_line(&entry.requirement, 1)?;
    }
    for entry in &file.ban {
        crate::requirement::parse_requirement_line(&entry.requirement, 1)?;
    }

    let mut summary = PolicySummary::default();
    for entry in &file.agents {
        governance.set_agent_maturity(&entry.id, &entry.maturity, Some(actor))?;
        summary.agents += 1;
    }
    for entry in &file.approve {
        governance.approve(&entry.requirement, &entry.min_maturity, Some(entry.approved_by.as_deref().unwrap_or(actor)))?;
        summary.approvals += 1;
    }
    for entry in &file.ban {
        governance.ban(&entry.requirement, &entry.reason, Some(entry.banned_by.as_deref().unwrap_or(actor)))?;
        summary.bans += 1;
    }
    Ok(summary)
}
