//! An in-memory index of the stored advisories, compiled once per import so
//! matching a package version costs a hash lookup and a few comparisons.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use pep508_rs::pep440_rs::Version;
use serde::Serialize;

use super::cvss::{base_score, Rating};
use super::matching::{fixed_versions, AffectedVersions, UpperBound};
use super::record::OsvRange;
use super::Vulnerability;
use crate::error::{Error, Result};
use crate::requirement::normalize_name;

/// The parts of a record that every match of it shares.
#[derive(Debug)]
struct AdvisoryMeta {
    id: String,
    aliases: Vec<String>,
    summary: Option<String>,
    cvss_vector: Option<String>,
    cvss_score: Option<f64>,
    rating: Option<Rating>,
}

#[derive(Debug)]
struct Entry {
    advisory: Arc<AdvisoryMeta>,
    affected: AffectedVersions,
    fixed_versions: Vec<String>,
}

/// A listed version of a record that its own ranges do not contain.
#[derive(Clone, Debug, Serialize)]
pub struct DataError {
    pub advisory_id: String,
    pub package: String,
    pub version: String,
}

/// The advisories of one package, with the version line cut into regions
/// that every advisory either fully covers or misses.
///
/// The region boundaries are every version any entry names (interval bounds
/// and listed versions), sorted. Region `2i + 1` is boundary `i` itself,
/// region `2i` the open gap just below it, and region `2n` the gap above the
/// last one. A query is then one binary search instead of a walk over every
/// advisory of the package.
#[derive(Debug, Default)]
struct PackageIndex {
    entries: Vec<Entry>,
    boundaries: Vec<Version>,
    /// `members[offsets[r]..offsets[r + 1]]` are the entries covering region `r`.
    offsets: Vec<u32>,
    members: Vec<u32>,
}

impl PackageIndex {
    fn build(entries: Vec<Entry>) -> Self {
        let mut boundaries: Vec<Version> = Vec::new();
        for entry in &entries {
            boundaries.extend(entry.affected.listed().iter().cloned());
            for (lower, upper) in entry.affected.intervals() {
                boundaries.push(lower.clone());
                if let UpperBound::Exclusive(bound) | UpperBound::Inclusive(bound) = upper {
                    boundaries.push(bound.clone());
                }
            }
        }
        boundaries.sort();
        boundaries.dedup();
        let position = |version: &Version| boundaries.binary_search(version).expect("every bound is a boundary");

        // Each entry as boundary positions: intervals (lower, upper kind, upper) and listed points.
        let shapes: Vec<(Vec<(usize, u8, usize)>, Vec<usize>)> = entries
            .iter()
            .map(|entry| {
                let intervals = entry
                    .affected
                    .intervals()
                    .iter()
                    .map(|(lower, upper)| match upper {
                        UpperBound::Exclusive(bound) => (position(lower), EXCLUSIVE, position(bound)),
                        UpperBound::Inclusive(bound) => (position(lower), INCLUSIVE, position(bound)),
                        UpperBound::Unbounded => (position(lower), UNBOUNDED, usize::MAX),
                    })
                    .collect();
                let listed = entry.affected.listed().iter().map(position).collect();
                (intervals, listed)
            })
            .collect();

        let region_count = 2 * boundaries.len() + 1;
        let mut offsets = Vec::with_capacity(region_count + 1);
        let mut members = Vec::new();
        for region in 0..region_count {
            offsets.push(members.len() as u32);
            for (index, (intervals, listed)) in shapes.iter().enumerate() {
                if region_covered(region, intervals, listed) {
                    members.push(index as u32);
                }
            }
        }
        offsets.push(members.len() as u32);
        PackageIndex { entries, boundaries, offsets, members }
    }

    /// Returns the entries whose affected versions contain `version`, in entry order.
    fn covering(&self, version: &Version) -> impl Iterator<Item = &Entry> {
        let region = match self.boundaries.binary_search(version) {
            Ok(point) => 2 * point + 1,
            Err(above) => 2 * above,
        };
        let span = self.offsets[region] as usize..self.offsets[region + 1] as usize;
        self.members[span].iter().map(|index| &self.entries[*index as usize])
    }
}

const EXCLUSIVE: u8 = 0;
const INCLUSIVE: u8 = 1;
const UNBOUNDED: u8 = 2;

/// Tells whether an entry covers a region, with bounds given as boundary positions.
fn region_covered(region: usize, intervals: &[(usize, u8, usize)], listed: &[usize]) -> bool {
    if region % 2 == 1 {
        let point = region / 2;
        return listed.binary_search(&point).is_ok()
            || intervals.iter().any(|&(lower, kind, upper)| {
                lower <= point
                    && match kind {
                        EXCLUSIVE => point < upper,
                        INCLUSIVE => point <= upper,
                        _ => true,
                    }
            });
    }
    // The gap below boundary `above`: versions strictly between `above - 1` and `above`.
    let above = region / 2;
    if above == 0 {
        // Every interval starts at a boundary, so nothing lies below the first one.
        return false;
    }
    let below = above - 1;
    intervals
        .iter()
        .any(|&(lower, kind, upper)| lower <= below && (kind == UNBOUNDED || upper >= above))
}

/// Every non-withdrawn advisory, grouped by normalised package name.
#[derive(Debug, Default)]
pub struct CompiledIndex {
    /// The id of the import the index was built after; 0 before any import.
    pub generation: i64,
    by_package: HashMap<String, PackageIndex>,
}

impl CompiledIndex {
    /// Builds the index from the store's tables.
    pub fn load(connection: &rusqlite::Connection, generation: i64) -> Result<Self> {
        let mut advisories: HashMap<String, Arc<AdvisoryMeta>> = HashMap::new();
        let mut statement = connection.prepare("SELECT id, aliases, summary, severity FROM advisories WHERE withdrawn IS NULL")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let aliases: String = row.get(1)?;
            let cvss_vector: Option<String> = row.get(3)?;
            let score = cvss_vector.as_deref().and_then(base_score);
            advisories.insert(
                id.clone(),
                Arc::new(AdvisoryMeta {
                    id,
                    aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                    summary: row.get(2)?,
                    cvss_score: score.map(|score| score.score),
                    rating: score.map(|score| score.rating),
                    cvss_vector,
                }),
            );
        }

        let mut grouped: HashMap<String, Vec<Entry>> = HashMap::new();
        let mut statement = connection.prepare("SELECT advisory_id, package, ranges, versions FROM advisory_affected ORDER BY advisory_id")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let advisory_id: String = row.get(0)?;
            // Withdrawn records are absent from `advisories` above, so they never match.
            let Some(advisory) = advisories.get(&advisory_id) else { continue };
            let ranges: Vec<OsvRange> = serde_json::from_str(&row.get::<_, String>(2)?)
                .map_err(|error| Error::Advisory(format!("stored ranges of {advisory_id} are corrupt: {error}")))?;
            let versions: Vec<String> = serde_json::from_str(&row.get::<_, String>(3)?)
                .map_err(|error| Error::Advisory(format!("stored versions of {advisory_id} are corrupt: {error}")))?;
            grouped.entry(row.get(1)?).or_default().push(Entry {
                advisory: advisory.clone(),
                affected: AffectedVersions::compile(&ranges, &versions),
                fixed_versions: fixed_versions(&ranges),
            });
        }
        let by_package = grouped.into_iter().map(|(name, entries)| (name, PackageIndex::build(entries))).collect();
        Ok(CompiledIndex { generation, by_package })
    }

    /// Returns the records affecting `name` at `version`, one per record id, sorted by id.
    pub fn matches(&self, name: &str, version: &str) -> Result<Vec<Vulnerability>> {
        let name = normalize_name(name);
        let parsed = Version::from_str(version.trim())
            .map_err(|error| Error::InvalidArgument(format!("invalid version {version:?} for package {name}: {error}")))?;
        let Some(package) = self.by_package.get(&name) else { return Ok(Vec::new()) };

        let mut found: Vec<Vulnerability> = Vec::new();
        for entry in package.covering(&parsed) {
            if found.last().is_some_and(|last| last.id == entry.advisory.id) {
                continue;
            }
            let advisory = &entry.advisory;
            found.push(Vulnerability {
                id: advisory.id.clone(),
                aliases: advisory.aliases.clone(),
                package: name.clone(),
                version: version.trim().to_string(),
                fixed_versions: entry.fixed_versions.clone(),
                severity: advisory.rating.map(|rating| rating.as_str().to_string()),
                cvss_score: advisory.cvss_score,
                cvss_vector: advisory.cvss_vector.clone(),
                summary: advisory.summary.clone(),
                source: "osv".into(),
                denies: true,
            });
        }
        Ok(found)
    }

    /// Lists every version a record names explicitly that its own `ECOSYSTEM`
    /// ranges do not contain, for records that have both.
    pub fn data_errors(&self) -> Vec<DataError> {
        let mut errors = Vec::new();
        for (package, index) in &self.by_package {
            for entry in index.entries.iter().filter(|entry| entry.affected.has_ranges()) {
                for version in entry.affected.listed().iter().filter(|version| !entry.affected.in_ranges(version)) {
                    errors.push(DataError {
                        advisory_id: entry.advisory.id.clone(),
                        package: package.clone(),
                        version: version.to_string(),
                    });
                }
            }
        }
        errors.sort_by(|left, right| (&left.advisory_id, &left.package).cmp(&(&right.advisory_id, &right.package)));
        errors
    }

    /// Counts (advisories, packages) in the index.
    pub fn counts(&self) -> (usize, usize) {
        let mut ids = std::collections::HashSet::new();
        for index in self.by_package.values() {
            ids.extend(index.entries.iter().map(|entry| entry.advisory.id.as_str()));
        }
        (ids.len(), self.by_package.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::record::OsvEvent;

    fn entry(id: &str, events: &[(&str, &str)], listed: &[&str]) -> Entry {
        let events = events
            .iter()
            .map(|(kind, version)| {
                let mut event = OsvEvent::default();
                let value = Some(version.to_string());
                match *kind {
                    "introduced" => event.introduced = value,
                    "fixed" => event.fixed = value,
                    "last_affected" => event.last_affected = value,
                    _ => event.limit = value,
                }
                event
            })
            .collect();
        let ranges = vec![OsvRange { kind: "ECOSYSTEM".into(), events }];
        let listed: Vec<String> = listed.iter().map(|text| text.to_string()).collect();
        Entry {
            advisory: Arc::new(AdvisoryMeta {
                id: id.into(),
                aliases: Vec::new(),
                summary: None,
                cvss_vector: None,
                cvss_score: None,
                rating: None,
            }),
            affected: AffectedVersions::compile(&ranges, &listed),
            fixed_versions: Vec::new(),
        }
    }

    #[test]
    fn regions_agree_with_direct_matching() {
        let entries = vec![
            entry("A", &[("introduced", "0"), ("fixed", "1.2")], &[]),
            entry("B", &[("introduced", "1.0"), ("last_affected", "1.4"), ("introduced", "2.0rc1"), ("fixed", "2.1")], &["3.0"]),
            entry("C", &[("introduced", "1.5")], &[]),
            entry("D", &[], &["0.9", "1.4.post1"]),
            entry("E", &[("introduced", "1.1"), ("limit", "1.3")], &[]),
        ];
        let direct: Vec<AffectedVersions> = entries.iter().map(|entry| entry.affected.clone()).collect();
        let index = PackageIndex::build(entries);
        let probes = [
            "0.dev0", "0", "0.1", "0.9", "0.9.post1", "1.0rc1", "1.0", "1.1", "1.2", "1.2.dev0", "1.3", "1.4", "1.4+local",
            "1.4.post1", "1.4.1", "1.5", "1!0.1", "2.0a1", "2.0rc1", "2.0", "2.1", "3.0", "3.0.1", "99",
        ];
        for probe in probes {
            let version = Version::from_str(probe).unwrap();
            let from_index: Vec<&str> = index.covering(&version).map(|entry| entry.advisory.id.as_str()).collect();
            let expected: Vec<&str> = ["A", "B", "C", "D", "E"]
                .into_iter()
                .zip(&direct)
                .filter(|(_, affected)| affected.contains(&version))
                .map(|(id, _)| id)
                .collect();
            assert_eq!(from_index, expected, "version {probe}");
        }
    }
}
