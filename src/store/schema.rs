//! Schema migrations, numbered by SQLite's `user_version`.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Each entry moves the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE agents (
    agent_id   TEXT PRIMARY KEY,
    maturity   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE package_policies (
    id            INTEGER PRIMARY KEY,
    package_type  TEXT NOT NULL,
    name          TEXT NOT NULL,
    specifier     TEXT NOT NULL,
    status        TEXT NOT NULL,
    min_maturity  TEXT,
    reason        TEXT,
    requested_by  TEXT,
    approved_by   TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (package_type, name, specifier)
);
CREATE INDEX package_policies_by_name ON package_policies (package_type, name);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    action   TEXT NOT NULL,
    actor    TEXT,
    agent_id TEXT,
    skill_id TEXT,
    package  TEXT,
    detail   TEXT NOT NULL
);

CREATE TABLE advisories (
    id        TEXT PRIMARY KEY,
    aliases   TEXT NOT NULL,
    summary   TEXT,
    details   TEXT,
    published TEXT,
    modified  TEXT NOT NULL,
    withdrawn TEXT,
    severity  TEXT
);

CREATE TABLE advisory_affected (
    advisory_id TEXT NOT NULL REFERENCES advisories (id) ON DELETE CASCADE,
    package     TEXT NOT NULL,
    ranges      TEXT NOT NULL,
    versions    TEXT NOT NULL
);
CREATE INDEX advisory_affected_by_package ON advisory_affected (package);

CREATE TABLE advisory_imports (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    imported_at  TEXT NOT NULL,
    record_count INTEGER NOT NULL,
    digest       TEXT NOT NULL
);

CREATE TABLE skill_images (
    skill_id     TEXT PRIMARY KEY,
    image_tag    TEXT NOT NULL,
    lock_digest  TEXT NOT NULL,
    lock         TEXT NOT NULL,
    installed_at TEXT NOT NULL
);
"#, r#"
CREATE TABLE advisory_waivers (
    advisory_id TEXT PRIMARY KEY,
    reason      TEXT NOT NULL,
    expires_at  TEXT,
    waived_by   TEXT,
    created_at  TEXT NOT NULL
);
"#, r#"
CREATE TABLE image_quarantine (
    image_tag      TEXT PRIMARY KEY,
    reason         TEXT NOT NULL,
    quarantined_at TEXT NOT NULL
);
"#, r#"
ALTER TABLE package_policies ADD COLUMN expires_at TEXT;
ALTER TABLE package_policies ADD COLUMN approved_at TEXT;
ALTER TABLE package_policies ADD COLUMN banned_by TEXT;
CREATE INDEX audit_log_by_agent ON audit_log (agent_id, id);
CREATE INDEX audit_log_by_package ON audit_log (package, id);
CREATE INDEX audit_log_by_skill ON audit_log (skill_id, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
"#];

/// Brings the schema up to the newest version, one transaction per step.
/// The version is read again inside each write transaction, so two processes
/// opening a new database at once apply each step once.
pub fn migrate(connection: &Connection) -> Result<()> {
    // An up-to-date database needs no write lock, so opening it does not wait
    // for another connection's write to finish.
    let current: usize = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current == MIGRATIONS.len() {
        return Ok(());
    }
    for (index, migration) in MIGRATIONS.iter().enumerate() {
        connection.execute_batch("BEGIN IMMEDIATE")?;
        let outcome = apply_step(connection, index, migration);
        let finish = if outcome.is_ok() { "COMMIT" } else { "ROLLBACK" };
        connection.execute_batch(finish)?;
        outcome?;
    }
    Ok(())
}

fn apply_step(connection: &Connection, index: usize, migration: &str) -> Result<()> {
    let current: usize = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current > MIGRATIONS.len() {
        return Err(Error::InvalidArgument(format!(
            "database schema version {current} is newer than this skillguard supports ({})\nhint: upgrade skillguard, or use another database file",
            MIGRATIONS.len()
        )));
    }
    if current > index {
        return Ok(());
    }
    connection.execute_batch(migration)?;
    connection.pragma_update(None, "user_version", index + 1)?;
    Ok(())
}
