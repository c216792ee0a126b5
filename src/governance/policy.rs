//! Policy records: one row per (package type, name, version range).

use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};
use crate::requirement::parse_requirement_line;
use crate::store::{Store, NOW};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_PENDING: &str = "pending";
pub const STATUS_BANNED: &str = "banned";

/// One policy record as stored.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyRecord {
    pub id: i64,
    pub package_type: String,
    /// PEP 503-normalised name.
    pub name: String,
    /// PEP 440 specifier set; empty covers every version.
    pub specifier: String,
    pub status: String,
    pub min_maturity: Option<String>,
    pub reason: Option<String>,
    pub requested_by: Option<String>,
    pub approved_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    specifiers: Option<VersionSpecifiers>,
}

impl PolicyRecord {
    /// Tells whether the record's range contains `version`.
    pub fn matches(&self, version: &Version) -> bool {
        match &self.specifiers {
            Some(specifiers) => specifiers.contains(version),
            // A specifier that no longer parses matches nothing rather than everything.
            None => false,
        }
    }

    /// Describes the range for messages: `every version` or the specifier.
    pub fn describe_range(&self) -> String {
        if self.specifier.is_empty() {
            format!("{}, every version", self.name)
        } else {
            format!("{}{}", self.name, self.specifier)
        }
    }

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        let specifier: String = row.get(3)?;
        Ok(PolicyRecord {
            id: row.get(0)?,
            package_type: row.get(1)?,
            name: row.get(2)?,
            specifiers: VersionSpecifiers::from_str(&specifier).ok(),
            specifier,
            status: row.get(4)?,
            min_maturity: row.get(5)?,
            reason: row.get(6)?,
            requested_by: row.get(7)?,
            approved_by: row.get(8)?,
            created_at: row.get(9)?,
            updated_at: row.get(10)?,
        })
    }
}

const COLUMNS: &str =
    "id, package_type, name, specifier, status, min_maturity, reason, requested_by, approved_by, created_at, updated_at";

/// Loads every record of one package.
pub fn records_for(store: &Store, package_type: &str, name: &str) -> Result<Vec<PolicyRecord>> {
    let connection = store.lock();
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM package_policies WHERE package_type = ?1 AND name = ?2"
    ))?;
    let records = statement
        .query_map(params![package_type, name], PolicyRecord::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(records)
}

/// Lists records, optionally of one status, ordered by name.
pub fn list(store: &Store, status: Option<&str>) -> Result<Vec<PolicyRecord>> {
    let connection = store.lock();
    let mut statement = connection.prepare(&format!(
        "SELECT {COLUMNS} FROM package_policies WHERE (?1 IS NULL OR status = ?1) ORDER BY name, specifier"
    ))?;
    let records = statement
        .query_map(params![status], PolicyRecord::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(records)
}

/// A status change requested by an administrator.
pub struct Change<'a> {
    pub requirement: &'a str,
    pub status: &'a str,
    pub min_maturity: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub action: &'a str,
}

/// Splits a policy requirement into a normalised name and a canonical specifier.
fn policy_key(requirement: &str) -> Result<(String, String)> {
    let parsed = parse_requirement_line(requirement, 1)?;
    if !parsed.marker.is_true() {
        return Err(Error::InvalidArgument(format!(
            "policy requirement {requirement:?} has an environment marker; policies apply to every environment"
        )));
    }
    Ok((parsed.name, parsed.specifiers.to_string()))
}

/// Inserts or updates the record for a requirement and audits the change in
/// the same transaction.
pub fn upsert(store: &Store, change: Change<'_>) -> Result<PolicyRecord> {
    let (name, specifier) = policy_key(change.requirement)?;
    let mut connection = store.lock();
    let transaction = connection.transaction()?;

    let before = select_one(&transaction, &name, &specifier)?;
    transaction.execute(
        &format!(
            "INSERT INTO package_policies
               (package_type, name, specifier, status, min_maturity, reason, approved_by, created_at, updated_at)
             VALUES ('python', ?1, ?2, ?3, ?4, ?5, ?6, {NOW}, {NOW})
             ON CONFLICT (package_type, name, specifier) DO UPDATE SET
               status = excluded.status, min_maturity = excluded.min_maturity,
               reason = excluded.reason, approved_by = excluded.approved_by, updated_at = excluded.updated_at"
        ),
        params![name, specifier, change.status, change.min_maturity, change.reason, change.actor],
    )?;
    let after = select_one(&transaction, &name, &specifier)?.expect("the row was just written");

    audit::record(
        &transaction,
        &AuditEvent {
            action: change.action,
            actor: change.actor,
            package: Some(&name),
            detail: json!({ "before": before, "after": after }),
            ..Default::default()
        },
    )?;
    transaction.commit()?;
    Ok(after)
}

/// Records a pending request unless an active or banned record already covers the same range.
pub fn request(store: &Store, requirement: &str, requested_by: Option<&str>, reason: Option<&str>) -> Result<PolicyRecord> {
    let (name, specifier) = policy_key(requirement)?;
    let mut connection = store.lock();
    let transaction = connection.transaction()?;

    if let Some(existing) = select_one(&transaction, &name, &specifier)? {
        if existing.status != STATUS_PENDING {
            return Ok(existing);
        }
    }
    transaction.execute(
        &format!(
            "INSERT INTO package_policies
               (package_type, name, specifier, status, reason, requested_by, created_at, updated_at)
             VALUES ('python', ?1, ?2, 'pending', ?3, ?4, {NOW}, {NOW})
             ON CONFLICT (package_type, name, specifier) DO UPDATE SET
               reason = excluded.reason, requested_by = excluded.requested_by, updated_at = excluded.updated_at"
        ),
        params![name, specifier, reason, requested_by],
    )?;
    let after = select_one(&transaction, &name, &specifier)?.expect("the row was just written");
    audit::record(
        &transaction,
        &AuditEvent {
            action: "package_requested",
            actor: requested_by,
            package: Some(&name),
            detail: json!({ "after": after }),
            ..Default::default()
        },
    )?;
    transaction.commit()?;
    Ok(after)
}

fn select_one(connection: &rusqlite::Connection, name: &str, specifier: &str) -> Result<Option<PolicyRecord>> {
    Ok(connection
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM package_policies WHERE package_type = 'python' AND name = ?1 AND specifier = ?2"
            ),
            params![name, specifier],
            PolicyRecord::from_row,
        )
        .optional()?)
}
