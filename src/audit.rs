//! The append-only audit log: every policy change, denial, install and run.

use rusqlite::{params, Connection};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::requirement::normalize_name;
use crate::store::NOW;

/// One event to record. Empty fields stay NULL.
#[derive(Default)]
pub struct AuditEvent<'a> {
    pub action: &'a str,
    pub actor: Option<&'a str>,
    pub agent_id: Option<&'a str>,
    pub skill_id: Option<&'a str>,
    pub package: Option<&'a str>,
    pub detail: Value,
}

/// Appends one event; call it inside the transaction of the change it records.
pub fn record(connection: &Connection, event: &AuditEvent<'_>) -> Result<()> {
    connection.execute(
        &format!(
            "INSERT INTO audit_log (at, action, actor, agent_id, skill_id, package, detail)
             VALUES ({NOW}, ?1, ?2, ?3, ?4, ?5, ?6)"
        ),
        params![
            event.action,
            event.actor,
            event.agent_id,
            event.skill_id,
            event.package,
            event.detail.to_string()
        ],
    )?;
    Ok(())
}

/// One row of the audit log as queries return it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub action: String,
    pub actor: Option<String>,
    pub agent_id: Option<String>,
    pub skill_id: Option<String>,
    pub package: Option<String>,
    pub detail: Value,
}

/// The filter of [`query`]; `None` fields match every entry. Times are
/// ISO 8601 (UTC unless they name an offset); `since` is inclusive, `until` exclusive.
#[derive(Default)]
pub struct AuditFilter<'a> {
    pub agent_id: Option<&'a str>,
    pub skill_id: Option<&'a str>,
    /// A package name, normalised before comparing.
    pub package: Option<&'a str>,
    pub action: Option<&'a str>,
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub limit: usize,
}

const ENTRY_COLUMNS: &str = "id, at, action, actor, agent_id, skill_id, package, detail";

fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let detail: String = row.get(7)?;
    Ok(AuditEntry {
        id: row.get(0)?,
        at: row.get(1)?,
        action: row.get(2)?,
        actor: row.get(3)?,
        agent_id: row.get(4)?,
        skill_id: row.get(5)?,
        package: row.get(6)?,
        detail: serde_json::from_str(&detail).unwrap_or(Value::String(detail)),
    })
}

/// Returns matching entries, newest first.
pub fn query(connection: &Connection, filter: &AuditFilter<'_>) -> Result<Vec<AuditEntry>> {
    let since = filter.since.map(|text| utc_time(connection, "since", text)).transpose()?;
    let until = filter.until.map(|text| utc_time(connection, "until", text)).transpose()?;
    // Python names are stored PEP 503-normalised, npm names only lowercased.
    let package = filter.package.map(normalize_name);
    let lowercase = filter.package.map(|name| name.trim().to_lowercase());
    let mut statement = connection.prepare(&format!(
        "SELECT {ENTRY_COLUMNS} FROM audit_log
         WHERE (?1 IS NULL OR agent_id = ?1) AND (?2 IS NULL OR skill_id = ?2) AND (?3 IS NULL OR package IN (?3, ?8))
           AND (?4 IS NULL OR action = ?4) AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6)
         ORDER BY id DESC LIMIT ?7"
    ))?;
    let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(
        params![filter.agent_id, filter.skill_id, package, filter.action, since, until, limit, lowercase],
        entry_from_row,
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Returns the audited changes of one policy record (by type, name and
/// range), oldest first.
pub fn record_history(connection: &Connection, package_type: &str, name: &str, specifier: &str) -> Result<Vec<AuditEntry>> {
    let mut statement = connection.prepare(&format!(
        "SELECT {ENTRY_COLUMNS} FROM audit_log
         WHERE package = ?1 AND action IN ('package_approved', 'package_banned', 'package_requested',
                                           'package_untrusted', 'package_revoked')
           AND coalesce(json_extract(detail, '$.package_type'), json_extract(detail, '$.after.package_type'), 'python') = ?2
           AND coalesce(json_extract(detail, '$.specifier'), json_extract(detail, '$.after.specifier')) = ?3
         ORDER BY id"
    ))?;
    let rows = statement.query_map(params![name, package_type, specifier], entry_from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Converts an ISO 8601 time to the form the log stores, or names the bad input.
fn utc_time(connection: &Connection, what: &str, text: &str) -> Result<String> {
    crate::store::utc_timestamp(connection, text)?.ok_or_else(|| {
        Error::InvalidArgument(format!(
            "invalid {what} time {text:?}: expected an ISO 8601 time such as 2027-01-31 or 2027-01-31T12:00:00Z"
        ))
    })
}
