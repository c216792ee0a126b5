//! Waivers: advisories a person decided to ignore, with a reason and an optional expiry.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use super::AdvisoryDb;
use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};
use crate::store::NOW;

/// One waiver as stored.
#[derive(Clone, Debug, Serialize)]
pub struct Waiver {
    pub advisory_id: String,
    pub reason: String,
    /// UTC expiry (RFC 3339); `None` waives until removed.
    pub expires_at: Option<String>,
    pub waived_by: Option<String>,
    pub created_at: String,
    /// False once the expiry has passed.
    pub active: bool,
}

const COLUMNS: &str = "advisory_id, reason, expires_at, waived_by, created_at,
    expires_at IS NULL OR julianday(expires_at) > julianday('now')";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Waiver> {
    Ok(Waiver {
        advisory_id: row.get(0)?,
        reason: row.get(1)?,
        expires_at: row.get(2)?,
        waived_by: row.get(3)?,
        created_at: row.get(4)?,
        active: row.get(5)?,
    })
}

impl AdvisoryDb {
    /// Waives an advisory id until `expires_at` (an ISO 8601 time, UTC unless
    /// it names an offset) or until removed, and audits the change.
    pub fn waive(&self, advisory_id: &str, reason: &str, expires_at: Option<&str>, waived_by: Option<&str>) -> Result<Waiver> {
        let advisory_id = advisory_id.trim();
        if advisory_id.is_empty() {
            return Err(Error::InvalidArgument("a waiver needs an advisory id".into()));
        }
        if reason.trim().is_empty() {
            return Err(Error::InvalidArgument(format!("a waiver of {advisory_id} needs a reason")));
        }
        if advisory_id.starts_with("MAL-") {
            return Err(Error::InvalidArgument(format!(
                "{advisory_id} marks a malicious package; malicious-package advisories cannot be waived"
            )));
        }

        let mut connection = self.store.lock();
        let transaction = connection.transaction()?;
        let expires_at: Option<String> = match expires_at {
            None => None,
            Some(text) => Some(
                crate::store::utc_timestamp(&transaction, text)?
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "invalid waiver expiry {text:?}: expected an ISO 8601 time such as 2027-01-31 or 2027-01-31T12:00:00Z"
                        ))
                    })?,
            ),
        };
        let before = select(&transaction, advisory_id)?;
        transaction.execute(
            &format!(
                "INSERT INTO advisory_waivers (advisory_id, reason, expires_at, waived_by, created_at) VALUES (?1, ?2, ?3, ?4, {NOW})
                 ON CONFLICT (advisory_id) DO UPDATE SET reason = excluded.reason, expires_at = excluded.expires_at,
                   waived_by = excluded.waived_by, created_at = excluded.created_at"
            ),
            params![advisory_id, reason.trim(), expires_at, waived_by],
        )?;
        let after = select(&transaction, advisory_id)?.expect("the row was just written");
        audit::record(
            &transaction,
            &AuditEvent {
                action: "advisory_waived",
                actor: waived_by,
                detail: json!({ "before": before, "after": after }),
                ..Default::default()
            },
        )?;
        transaction.commit()?;
        Ok(after)
    }

    /// Removes a waiver; returns whether one existed.
    pub fn remove_waiver(&self, advisory_id: &str, removed_by: Option<&str>) -> Result<bool> {
        let mut connection = self.store.lock();
        let transaction = connection.transaction()?;
        let Some(before) = select(&transaction, advisory_id.trim())? else { return Ok(false) };
        transaction.execute("DELETE FROM advisory_waivers WHERE advisory_id = ?1", [advisory_id.trim()])?;
        audit::record(
            &transaction,
            &AuditEvent {
                action: "advisory_waiver_removed",
                actor: removed_by,
                detail: json!({ "before": before }),
                ..Default::default()
            },
        )?;
        transaction.commit()?;
        Ok(true)
    }

    /// Lists every waiver, expired ones included (with `active = false`).
    pub fn waivers(&self) -> Result<Vec<Waiver>> {
        let connection = self.store.lock();
        let mut statement = connection.prepare(&format!("SELECT {COLUMNS} FROM advisory_waivers ORDER BY advisory_id"))?;
        let waivers = statement.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(waivers)
    }

    /// Returns the ids waived right now.
    pub fn active_waivers(&self) -> Result<std::collections::HashMap<String, Waiver>> {
        Ok(self
            .waivers()?
            .into_iter()
            .filter(|waiver| waiver.active)
            .map(|waiver| (waiver.advisory_id.clone(), waiver))
            .collect())
    }
}

fn select(connection: &rusqlite::Connection, advisory_id: &str) -> Result<Option<Waiver>> {
    Ok(connection
        .query_row(
            &format!("SELECT {COLUMNS} FROM advisory_waivers WHERE advisory_id = ?1"),
            [advisory_id],
            from_row,
        )
        .optional()?)
}
