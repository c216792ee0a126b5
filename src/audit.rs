//! The append-only audit log: every policy change, denial, install and run.

use rusqlite::{params, Connection};
use serde_json::Value;

use crate::error::Result;
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

/// Returns the newest entries first, optionally only those of one action.
pub fn recent(connection: &Connection, action: Option<&str>, limit: usize) -> Result<Vec<AuditEntry>> {
    let mut statement = connection.prepare(
        "SELECT id, at, action, actor, agent_id, skill_id, package, detail FROM audit_log
         WHERE (?1 IS NULL OR action = ?1) ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = statement.query_map(params![action, limit as i64], |row| {
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
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
