//! The advisory database: OSV records imported into the store, matched
//! exactly against package versions, and refused when missing or stale.

pub mod cvss;
mod fetch;
mod import;
mod index;
pub mod matching;
mod record;
mod waivers;

pub use fetch::configured_source;
pub use index::DataError;
pub use waivers::Waiver;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};
use crate::requirement::normalize_name;
use crate::store::{Store, NOW};

use record::{OsvRange, OsvRecord};

/// The default age after which a scan refuses the database, in days.
pub const DEFAULT_MAX_AGE_DAYS: f64 = 7.0;

/// The environment variable naming where advisories are imported from.
pub const SOURCE_VARIABLE: &str = "SKILLGUARD_ADVISORY_SOURCE";

/// OSV's public export of every PyPI advisory, used when the variable is unset.
pub const DEFAULT_SOURCE: &str = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip";

/// A known vulnerability affecting one package version.
#[derive(Clone, Debug, Serialize)]
pub struct Vulnerability {
    pub id: String,
    pub aliases: Vec<String>,
    pub package: String,
    pub version: String,
    pub fixed_versions: Vec<String>,
    /// The CVSS v3 rating (`none`, `low`, `medium`, `high`, `critical`) when
    /// the record has a CVSS v3 vector; `None` otherwise, never a guess.
    pub severity: Option<String>,
    pub cvss_score: Option<f64>,
    pub cvss_vector: Option<String>,
    pub summary: Option<String>,
    pub source: String,
    /// Whether the scanner's severity policy denies because of this record.
    pub denies: bool,
}

impl Vulnerability {
    /// Tells whether the record marks a malicious package (OSV ids `MAL-…`).
    pub fn is_malicious(&self) -> bool {
        self.id.starts_with("MAL-")
    }
}

/// The rule deciding which vulnerabilities deny a scan. A malicious-package record always denies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeverityPolicy {
    /// Deny at or above this rating; `None` denies every vulnerability.
    pub deny_at: Option<cvss::Rating>,
    /// Whether a vulnerability without a CVSS v3 rating denies when `deny_at` is set.
    pub deny_unknown: bool,
}

impl Default for SeverityPolicy {
    /// Returns the policy under which every vulnerability denies.
    fn default() -> Self {
        SeverityPolicy { deny_at: None, deny_unknown: true }
    }
}

impl SeverityPolicy {
    /// Tells whether `vulnerability` denies under this policy.
    pub fn denies(&self, vulnerability: &Vulnerability) -> bool {
        if vulnerability.is_malicious() {
            return true;
        }
        let Some(threshold) = self.deny_at else { return true };
        match vulnerability.severity.as_deref().and_then(cvss::Rating::parse) {
            Some(rating) => rating >= threshold,
            None => self.deny_unknown,
        }
    }
}

/// The counts and digest of one import.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    pub source: String,
    pub files: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Records that failed to parse, as (file name, reason).
    pub failed: Vec<(String, String)>,
    pub invalid_versions: usize,
    /// Distinct PyPI packages named by the imported records.
    pub packages: usize,
    pub digest: String,
}

/// The state of the database that every scan report carries.
#[derive(Clone, Debug, Serialize)]
pub struct AdvisoryStatus {
    pub records: usize,
    pub digest: Option<String>,
    pub last_import: Option<String>,
    pub source: Option<String>,
    /// Days since the last import, if there was one.
    pub age_days: Option<f64>,
}

/// The advisory database over one store.
#[derive(Clone)]
pub struct AdvisoryDb {
    store: Store,
    index: Arc<Mutex<Option<Arc<index::CompiledIndex>>>>,
}

impl AdvisoryDb {
    pub fn new(store: Store) -> Self {
        AdvisoryDb { store, index: Arc::default() }
    }

    /// Returns the compiled index, rebuilding it when an import (by this or
    /// another process) happened since it was built.
    fn compiled(&self) -> Result<Arc<index::CompiledIndex>> {
        let connection = self.store.lock();
        let generation: i64 = connection.query_row("SELECT coalesce(max(id), 0) FROM advisory_imports", [], |row| row.get(0))?;
        let mut cached = self.index.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(index) = cached.as_ref().filter(|index| index.generation == generation) {
            return Ok(index.clone());
        }
        let index = Arc::new(index::CompiledIndex::load(&connection, generation)?);
        log::debug!("compiled the advisory index for import {generation}");
        *cached = Some(index.clone());
        Ok(index)
    }

    /// Returns the records affecting each (name, version), in input order.
    pub fn match_packages<N: AsRef<str>, V: AsRef<str>>(&self, packages: &[(N, V)]) -> Result<Vec<Vulnerability>> {
        let index = self.compiled()?;
        let mut found = Vec::new();
        for (name, version) in packages {
            found.extend(index.matches(name.as_ref(), version.as_ref())?);
        }
        Ok(found)
    }

    /// Lists versions that records name explicitly but that their own
    /// `ECOSYSTEM` ranges exclude: errors in the data, by record id.
    pub fn data_errors(&self) -> Result<Vec<DataError>> {
        Ok(self.compiled()?.data_errors())
    }

    /// Counts (advisories, packages) that can match, withdrawn records excluded.
    pub fn counts(&self) -> Result<(usize, usize)> {
        Ok(self.compiled()?.counts())
    }

    /// Imports OSV records from a directory, `.zip` or `.tar.gz`, all in one
    /// transaction: a failure part-way leaves the database as it was.
    pub fn import_path(&self, path: &Path, source_label: &str) -> Result<ImportReport> {
        let files = import::read_source(path)?;
        let mut report = ImportReport {
            source: source_label.to_string(),
            files: files.len(),
            ..Default::default()
        };
        let mut packages = std::collections::HashSet::new();

        let mut connection = self.store.lock();
        let transaction = connection.transaction()?;
        {
            let mut existing = transaction.prepare("SELECT modified FROM advisories WHERE id = ?1")?;
            let mut delete = transaction.prepare("DELETE FROM advisories WHERE id = ?1")?;
            let mut insert = transaction.prepare(
                "INSERT INTO advisories (id, aliases, summary, details, published, modified, withdrawn, severity)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut insert_affected = transaction.prepare(
                "INSERT INTO advisory_affected (advisory_id, package, ranges, versions) VALUES (?1, ?2, ?3, ?4)",
            )?;

            for file in &files {
                let record = match OsvRecord::parse(&file.name, &file.bytes) {
                    Ok(record) => record,
                    Err(reason) => {
                        log::warn!("skipped advisory file {}: {reason}", file.name);
                        report.failed.push((file.name.clone(), reason));
                        continue;
                    }
                };
                let pypi: Vec<_> = record
                    .affected
                    .iter()
                    .filter_map(|affected| {
                        let package = affected.package.as_ref()?;
                        (package.ecosystem == "PyPI").then(|| (normalize_name(&package.name), affected))
                    })
                    .collect();
                if pypi.is_empty() {
                    continue;
                }

                let previous: Option<String> = existing.query_row([&record.id], |row| row.get(0)).optional()?;
                match previous {
                    Some(modified) if modified == record.modified => {
                        report.unchanged += 1;
                        for (name, _) in &pypi {
                            packages.insert(name.clone());
                        }
                        continue;
                    }
                    Some(_) => {
                        delete.execute([&record.id])?;
                        report.updated += 1;
                    }
                    None => report.inserted += 1,
                }

                insert.execute(params![
                    record.id,
                    serde_json::to_string(&record.aliases).expect("strings serialise"),
                    record.summary,
                    record.details,
                    record.published,
                    record.modified,
                    record.withdrawn,
                    record.cvss_v3(),
                ])?;
                for (name, affected) in pypi {
                    let ranges: Vec<&OsvRange> = affected.ranges.iter().filter(|range| range.kind == "ECOSYSTEM").collect();
                    report.invalid_versions += matching::count_invalid_versions(&affected.ranges, &affected.versions);
                    insert_affected.execute(params![
                        record.id,
                        name,
                        serde_json::to_string(&ranges).expect("ranges serialise"),
                        serde_json::to_string(&affected.versions).expect("strings serialise"),
                    ])?;
                    packages.insert(name);
                }
            }
        }

        report.packages = packages.len();
        report.digest = database_digest(&transaction)?;
        let record_count: i64 = transaction.query_row("SELECT count(*) FROM advisories", [], |row| row.get(0))?;
        transaction.execute(
            &format!("INSERT INTO advisory_imports (source, imported_at, record_count, digest) VALUES (?1, {NOW}, ?2, ?3)"),
            params![source_label, record_count, report.digest],
        )?;
        audit::record(
            &transaction,
            &AuditEvent {
                action: "advisories_imported",
                detail: json!({
                    "source": source_label,
                    "inserted": report.inserted,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "failed": report.failed.len(),
                    "digest": report.digest,
                }),
                ..Default::default()
            },
        )?;
        transaction.commit()?;
        log::info!(
            "imported advisories from {source_label}: {} new, {} updated, {} unchanged, {} failed",
            report.inserted,
            report.updated,
            report.unchanged,
            report.failed.len()
        );
        Ok(report)
    }

    /// Returns the state of the database: record count, digest and age.
    pub fn status(&self) -> Result<AdvisoryStatus> {
        let connection = self.store.lock();
        let records: i64 = connection.query_row("SELECT count(*) FROM advisories", [], |row| row.get(0))?;
        let last = connection
            .query_row(
                "SELECT digest, imported_at, source, julianday('now') - julianday(imported_at)
                 FROM advisory_imports ORDER BY id DESC LIMIT 1",
                [],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, f64>(3)?)),
            )
            .optional()?;
        Ok(AdvisoryStatus {
            records: records as usize,
            digest: last.as_ref().map(|last| last.0.clone()),
            last_import: last.as_ref().map(|last| last.1.clone()),
            source: last.as_ref().map(|last| last.2.clone()),
            age_days: last.map(|last| last.3),
        })
    }

    /// Returns the status if the database can be trusted for a scan, else the
    /// reason it cannot, with the command that fixes it.
    pub fn require_usable(&self, max_age_days: f64) -> Result<AdvisoryStatus> {
        let status = self.status()?;
        let hint = "hint: run `skillguard advisories import PATH|URL`, or set SKILLGUARD_ADVISORY_SOURCE to an OSV export and run `skillguard advisories sync`";
        match status.age_days {
            None => Err(Error::Advisory(format!(
                "the advisory database is missing: nothing was ever imported into {}\n{hint}",
                self.store.location()
            ))),
            Some(_) if status.records == 0 => Err(Error::Advisory(format!(
                "the advisory database is empty: the last import from {} held no PyPI records\n{hint}",
                status.source.as_deref().unwrap_or("an unknown source")
            ))),
            Some(age) if age > max_age_days => Err(Error::Advisory(format!(
                "the advisory database is stale: last imported {age:.1} days ago, the limit is {max_age_days} days\n{hint}"
            ))),
            Some(_) => Ok(status),
        }
    }

    /// Returns every record that affects `name` at exactly `version`. Withdrawn records never match.
    pub fn advisories_for(&self, name: &str, version: &str) -> Result<Vec<Vulnerability>> {
        self.compiled()?.matches(name, version)
    }
}

/// Computes a digest over every stored record's id, modification time and withdrawal,
/// so two databases with the same content have the same digest.
fn database_digest(connection: &rusqlite::Connection) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut statement = connection.prepare("SELECT id, modified, coalesce(withdrawn, '') FROM advisories ORDER BY id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        for column in 0..3 {
            let value: String = row.get(column)?;
            hasher.update(value.as_bytes());
            hasher.update([0]);
        }
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(directory: &Path, name: &str, text: &str) {
        std::fs::write(directory.join(name), text).unwrap();
    }

    fn record(id: &str, modified: &str, extra: &str) -> String {
        format!(
            r#"{{"id": "{id}", "modified": "{modified}", "affected": [{{"package": {{"ecosystem": "PyPI", "name": "Demo_Pkg"}},
              "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "1.0"}}, {{"fixed": "1.5"}}]}}]}}]{extra}}}"#
        )
    }

    fn database() -> AdvisoryDb {
        AdvisoryDb::new(Store::open(Some(":memory:")).unwrap())
    }

    #[test]
    fn import_updates_by_modified_and_reports_bad_files() {
        let directory = tempfile::tempdir().unwrap();
        write(directory.path(), "A-1.json", &record("A-1", "2024-01-01T00:00:00Z", ""));
        write(directory.path(), "broken.yaml", "id: [unclosed");
        let advisories = database();

        let first = advisories.import_path(directory.path(), "test").unwrap();
        assert_eq!((first.inserted, first.updated, first.unchanged), (1, 0, 0));
        assert_eq!(first.failed.len(), 1);
        assert_eq!(first.failed[0].0, "broken.yaml");

        write(directory.path(), "A-1.json", &record("A-1", "2024-02-01T00:00:00Z", ""));
        let second = advisories.import_path(directory.path(), "test").unwrap();
        assert_eq!((second.inserted, second.updated, second.unchanged), (0, 1, 0));
        assert_ne!(first.digest, second.digest);
        assert_eq!(advisories.advisories_for("demo-pkg", "1.2").unwrap().len(), 1);
    }

    #[test]
    fn withdrawn_records_never_match() {
        let directory = tempfile::tempdir().unwrap();
        write(directory.path(), "W-1.json", &record("W-1", "2024-01-01T00:00:00Z", r#", "withdrawn": "2024-03-01T00:00:00Z""#));
        let advisories = database();
        advisories.import_path(directory.path(), "test").unwrap();
        assert!(advisories.advisories_for("demo-pkg", "1.2").unwrap().is_empty());
    }

    #[test]
    fn import_refreshes_compiled_index() {
        let directory = tempfile::tempdir().unwrap();
        let advisories = database();
        advisories.import_path(directory.path(), "empty").unwrap();
        assert!(advisories.advisories_for("demo-pkg", "1.2").unwrap().is_empty());
        write(directory.path(), "A-1.json", &record("A-1", "2024-01-01T00:00:00Z", ""));
        advisories.import_path(directory.path(), "one").unwrap();
        assert_eq!(advisories.advisories_for("Demo.Pkg", "1.2").unwrap()[0].id, "A-1");
    }

    fn vulnerability(id: &str, severity: Option<&str>) -> Vulnerability {
        Vulnerability {
            id: id.into(),
            aliases: Vec::new(),
            package: "demo".into(),
            version: "1.0".into(),
            fixed_versions: Vec::new(),
            severity: severity.map(str::to_string),
            cvss_score: None,
            cvss_vector: None,
            summary: None,
            source: "osv".into(),
            denies: true,
        }
    }

    #[test]
    fn severity_policy_table() {
        let any = SeverityPolicy::default();
        let high = SeverityPolicy { deny_at: Some(cvss::Rating::High), deny_unknown: true };
        let high_known_only = SeverityPolicy { deny_at: Some(cvss::Rating::High), deny_unknown: false };
        let cases = [
            (any, "PYSEC-1", Some("low"), true),
            (any, "PYSEC-1", None, true),
            (high, "PYSEC-1", Some("medium"), false),
            (high, "PYSEC-1", Some("high"), true),
            (high, "PYSEC-1", Some("critical"), true),
            (high, "PYSEC-1", None, true),
            (high_known_only, "PYSEC-1", None, false),
            (high_known_only, "MAL-2024-1", None, true),
            (high_known_only, "MAL-2024-1", Some("low"), true),
        ];
        for (policy, id, severity, expected) in cases {
            assert_eq!(policy.denies(&vulnerability(id, severity)), expected, "{policy:?} {id} {severity:?}");
        }
    }

    #[test]
    fn waivers_need_a_reason_and_reject_malicious_ids() {
        let advisories = database();
        assert!(advisories.waive("PYSEC-1", " ", None, None).unwrap_err().to_string().contains("needs a reason"));
        assert!(advisories.waive("MAL-2024-1", "false positive", None, None).unwrap_err().to_string().contains("cannot be waived"));
        assert!(advisories.waive("PYSEC-1", "ok", Some("next week"), None).unwrap_err().to_string().contains("invalid waiver expiry"));

        advisories.waive("PYSEC-1", "not reachable", Some("2000-01-01"), Some("alice")).unwrap();
        advisories.waive("PYSEC-2", "not reachable", None, Some("alice")).unwrap();
        let active = advisories.active_waivers().unwrap();
        assert!(!active.contains_key("PYSEC-1"), "an expired waiver is inactive");
        assert!(active.contains_key("PYSEC-2"));
    }
}
