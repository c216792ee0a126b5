//! The scan: resolve a skill's requirements, govern every resolved package
//! and match each against the advisory database.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::advisory::{AdvisoryDb, AdvisoryStatus, SeverityPolicy, Vulnerability};
use crate::error::{Error, Result};
use crate::governance::{DenialRecord, Governance};
use crate::index::IndexClient;
use crate::requirement::parse_requirements;
use crate::resolve::{self, Lock, ResolveOptions, TargetEnv, TOP_LEVEL};

/// One package the governance rules refused, with the chain that pulled it in.
#[derive(Clone, Debug, Serialize)]
pub struct Denial {
    pub package: String,
    pub version: String,
    pub reason: String,
    pub rule: String,
    /// `skill requires A; A 2.0 requires B; B 1.4 is banned: …`
    pub chain: String,
}

/// A package's place in the resolved set.
#[derive(Clone, Debug, Serialize)]
pub struct TreeNode {
    pub version: String,
    pub required_by: Vec<String>,
}

/// Everything a scan found. `safe` is true only when the set resolved, no
/// package was denied and no vulnerability denies under the severity policy.
#[derive(Clone, Debug, Serialize)]
pub struct ScanReport {
    pub safe: bool,
    /// Matching records that are not waived; each says whether it denies.
    pub vulnerabilities: Vec<Vulnerability>,
    /// Matching records ignored because of an active waiver.
    pub waived: Vec<Vulnerability>,
    pub dependency_tree: BTreeMap<String, TreeNode>,
    pub conflicts: Vec<String>,
    pub denials: Vec<Denial>,
    pub lock: Option<Lock>,
    pub advisory_db: AdvisoryStatus,
}

/// The parts a scan works with.
#[derive(Clone)]
pub struct Scanner {
    pub index: IndexClient,
    pub advisories: AdvisoryDb,
    pub governance: Option<Governance>,
    /// Days after the last import when the advisory database counts as stale.
    pub max_advisory_age_days: f64,
    /// Which vulnerabilities deny.
    pub severity_policy: SeverityPolicy,
}

impl Scanner {
    /// Resolves requirement lines into a lock for `target`.
    pub async fn resolve(&self, requirements: &[String], target: &TargetEnv) -> Result<Lock> {
        self.resolve_with(requirements, target, &ResolveOptions::default()).await
    }

    /// Resolves requirement lines into a lock for `target` with `options`.
    pub async fn resolve_with(&self, requirements: &[String], target: &TargetEnv, options: &ResolveOptions) -> Result<Lock> {
        let parsed = parse_requirements(requirements)?;
        if parsed.is_empty() {
            return Ok(Lock::new(Vec::new(), target.clone(), Vec::new()));
        }
        resolve::resolve_with(&self.index, &parsed, target, options).await
    }

    /// Scans requirement lines. Requirement errors and an unusable advisory
    /// database raise; a resolution conflict is reported as unsafe.
    pub async fn scan(&self, requirements: &[String], agent_id: Option<&str>, target: &TargetEnv) -> Result<ScanReport> {
        parse_requirements(requirements)?;
        let status = self.advisories.require_usable(self.max_advisory_age_days)?;

        let lock = match self.resolve(requirements, target).await {
            Ok(lock) => lock,
            Err(Error::Resolution(message)) => {
                return Ok(ScanReport {
                    safe: false,
                    vulnerabilities: Vec::new(),
                    waived: Vec::new(),
                    dependency_tree: BTreeMap::new(),
                    conflicts: vec![message],
                    denials: Vec::new(),
                    lock: None,
                    advisory_db: status,
                })
            }
            Err(other) => return Err(other),
        };
        self.evaluate(lock, agent_id, None, status)
    }

    /// Governs and matches every package of a lock.
    pub fn evaluate(&self, lock: Lock, agent_id: Option<&str>, skill_id: Option<&str>, status: AdvisoryStatus) -> Result<ScanReport> {
        let denials = match (&self.governance, agent_id) {
            (Some(governance), Some(agent_id)) => govern_lock(governance, &lock, agent_id, skill_id)?,
            _ => Vec::new(),
        };

        let packages: Vec<(&str, &str)> =
            lock.packages.iter().map(|package| (package.name.as_str(), package.version.as_str())).collect();
        let waivers = self.advisories.active_waivers()?;
        let mut vulnerabilities = Vec::new();
        let mut waived = Vec::new();
        for mut vulnerability in self.advisories.match_packages(&packages)? {
            // Malicious-package records cannot be waived, so a stored waiver never hides one.
            if waivers.contains_key(&vulnerability.id) && !vulnerability.is_malicious() {
                waived.push(vulnerability);
                continue;
            }
            vulnerability.denies = self.severity_policy.denies(&vulnerability);
            vulnerabilities.push(vulnerability);
        }
        let denied_by_vulnerability = vulnerabilities.iter().any(|vulnerability| vulnerability.denies);

        let dependency_tree = lock
            .packages
            .iter()
            .map(|package| {
                (
                    package.name.clone(),
                    TreeNode {
                        version: package.version.clone(),
                        required_by: package.required_by.clone(),
                    },
                )
            })
            .collect();
        Ok(ScanReport {
            safe: denials.is_empty() && !denied_by_vulnerability,
            vulnerabilities,
            waived,
            dependency_tree,
            conflicts: Vec::new(),
            denials,
            lock: Some(lock),
            advisory_db: status,
        })
    }
}

/// Checks every package of the lock, not only the top-level ones, and audits each denial.
pub fn govern_lock(governance: &Governance, lock: &Lock, agent_id: &str, skill_id: Option<&str>) -> Result<Vec<Denial>> {
    let mut denials = Vec::new();
    let pairs: Vec<(&str, &str)> = lock.packages.iter().map(|package| (package.name.as_str(), package.version.as_str())).collect();
    let decisions = governance.check_many(agent_id, "python", &pairs)?;
    for (package, cached) in lock.packages.iter().zip(decisions) {
        let decision = &cached.decision;
        if decision.allowed {
            continue;
        }
        let chain = describe_chain(lock, &package.name, &decision.reason);
        governance.audit_denial(&DenialRecord {
            agent_id,
            skill_id,
            package_type: "python",
            package: &package.name,
            version: &package.version,
            rule: decision.rule,
            reason: &chain,
        })?;
        denials.push(Denial {
            package: package.name.clone(),
            version: package.version.clone(),
            reason: decision.reason.clone(),
            rule: decision.rule.to_string(),
            chain,
        });
    }
    Ok(denials)
}

/// Describes how `name` entered the lock, from the skill's requirements down.
fn describe_chain(lock: &Lock, name: &str, reason: &str) -> String {
    let mut path: Vec<String> = vec![name.to_string()];
    let mut seen: HashSet<String> = HashSet::from([name.to_string()]);
    let mut current = name.to_string();
    loop {
        let Some(package) = lock.packages.iter().find(|package| package.name == current) else { break };
        if package.required_by.iter().any(|origin| origin == TOP_LEVEL) {
            break;
        }
        let Some(parent) = package.required_by.first() else { break };
        let parent_name = parent.split("==").next().unwrap_or(parent).to_string();
        if !seen.insert(parent_name.clone()) {
            break;
        }
        path.push(parent_name.clone());
        current = parent_name;
    }
    path.reverse();

    let version_of = |name: &str| {
        lock.packages
            .iter()
            .find(|package| package.name == name)
            .map(|package| package.version.clone())
            .unwrap_or_default()
    };
    let mut steps = vec![format!("skill requires {}", path[0])];
    for pair in path.windows(2) {
        steps.push(format!("{} {} requires {}", pair[0], version_of(&pair[0]), pair[1]));
    }
    steps.push(format!("{name} {} is denied: {reason}", version_of(name)));
    steps.join("; ")
}
