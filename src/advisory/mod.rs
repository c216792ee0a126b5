//! The advisory database: OSV records imported into the store, matched
//! exactly against package versions, and refused when missing or stale.

mod fetch;
pub use fetch::configured_source;
mod import;
pub mod matching;
mod record;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use pep508_rs::pep440_rs::Version;
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
    /// The CVSS v3 vector when the record has one; `None` otherwise, never a guess.
    pub severity: Option<String>,
    pub summary: Option<String>,
    pub source: String,
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
}

impl AdvisoryDb {
    pub fn new(store: Store) -> Self {
        AdvisoryDb { store }
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
        let name = normalize_name(name);
        let parsed = Version::from_str(version.trim())
            .map_err(|error| Error::InvalidArgument(format!("invalid version {version:?} for package {name}: {error}")))?;
        let connection = self.store.lock();
        let mut statement = connection.prepare_cached(
            "SELECT a.id, a.aliases, a.summary, a.severity, f.ranges, f.versions
             FROM advisory_affected f JOIN advisories a ON a.id = f.advisory_id
             WHERE f.package = ?1 AND a.withdrawn IS NULL ORDER BY a.id",
        )?;
        let rows = statement.query_map([&name], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
            ))
        })?;

        let mut found: HashMap<String, Vulnerability> = HashMap::new();
        for row in rows {
            let (id, aliases, summary, severity, ranges, versions) = row?;
            let ranges: Vec<OsvRange> = serde_json::from_str(&ranges).unwrap_or_default();
            let versions: Vec<String> = serde_json::from_str(&versions).unwrap_or_default();
            if !matching::is_affected(&parsed, &ranges, &versions) {
                continue;
            }
            found.entry(id.clone()).or_insert_with(|| Vulnerability {
                id,
                aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                package: name.clone(),
                version: version.trim().to_string(),
                fixed_versions: matching::fixed_versions(&ranges),
                severity,
                summary,
                source: "osv".into(),
            });
        }
        let mut vulnerabilities: Vec<Vulnerability> = found.into_values().collect();
        vulnerabilities.sort_by(|left, right| left.id.cmp(&right.id));
        Ok(vulnerabilities)
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
