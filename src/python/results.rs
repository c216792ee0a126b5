//! Result objects: read-only Python views of the core's results.

use std::sync::Arc;

use pyo3::prelude::*;

use super::convert::{from_json, to_python};
use crate::{advisory, governance, install, resolve, sandbox, scan};

/// The decision of a permission check. A view of the core's decision: one
/// object serves every cache hit, and fields convert when read.
#[pyclass(module = "skillguard", frozen)]
pub struct Decision {
    inner: Arc<governance::Decision>,
}

impl Decision {
    pub fn new(inner: Arc<governance::Decision>) -> Self {
        Decision { inner }
    }
}

#[pymethods]
impl Decision {
    #[getter]
    fn allowed(&self) -> bool {
        self.inner.allowed
    }

    #[getter]
    fn maturity_required(&self) -> Option<&str> {
        self.inner.maturity_required.as_deref()
    }

    #[getter]
    fn reason(&self) -> &str {
        &self.inner.reason
    }

    #[getter]
    fn rule(&self) -> &'static str {
        self.inner.rule
    }

    #[getter]
    fn record(&self) -> Option<PolicyRecord> {
        self.inner.record.as_deref().cloned().map(PolicyRecord::from)
    }

    fn __bool__(&self) -> bool {
        self.inner.allowed
    }

    fn __repr__(&self) -> String {
        let allowed = if self.inner.allowed { "True" } else { "False" };
        format!("Decision(allowed={allowed}, rule={:?}, reason={:?})", self.inner.rule, self.inner.reason)
    }
}

/// One policy record.
#[pyclass(module = "skillguard", frozen, get_all)]
pub struct PolicyRecord {
    id: i64,
    package_type: String,
    name: String,
    specifier: String,
    status: String,
    min_maturity: Option<String>,
    reason: Option<String>,
    requested_by: Option<String>,
    approved_by: Option<String>,
    approved_at: Option<String>,
    banned_by: Option<String>,
    expires_at: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<governance::PolicyRecord> for PolicyRecord {
    fn from(record: governance::PolicyRecord) -> Self {
        PolicyRecord {
            id: record.id,
            package_type: record.package_type,
            name: record.name,
            specifier: record.specifier,
            status: record.status,
            min_maturity: record.min_maturity,
            reason: record.reason,
            requested_by: record.requested_by,
            approved_by: record.approved_by,
            approved_at: record.approved_at,
            banned_by: record.banned_by,
            expires_at: record.expires_at,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

#[pymethods]
impl PolicyRecord {
    fn __repr__(&self) -> String {
        format!("PolicyRecord(name={:?}, specifier={:?}, status={:?})", self.name, self.specifier, self.status)
    }
}

/// A known vulnerability of one package version. Fields convert to Python
/// objects when read, so a scan with many matches creates few objects.
#[pyclass(module = "skillguard", frozen)]
pub struct Vulnerability {
    inner: advisory::Vulnerability,
}

impl From<advisory::Vulnerability> for Vulnerability {
    fn from(inner: advisory::Vulnerability) -> Self {
        Vulnerability { inner }
    }
}

#[pymethods]
impl Vulnerability {
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    #[getter]
    fn aliases(&self) -> Vec<String> {
        self.inner.aliases.clone()
    }

    #[getter]
    fn package(&self) -> &str {
        &self.inner.package
    }

    #[getter]
    fn version(&self) -> &str {
        &self.inner.version
    }

    #[getter]
    fn fixed_versions(&self) -> Vec<String> {
        self.inner.fixed_versions.clone()
    }

    #[getter]
    fn severity(&self) -> Option<&str> {
        self.inner.severity.as_deref()
    }

    #[getter]
    fn cvss_score(&self) -> Option<f64> {
        self.inner.cvss_score
    }

    #[getter]
    fn cvss_vector(&self) -> Option<&str> {
        self.inner.cvss_vector.as_deref()
    }

    #[getter]
    fn summary(&self) -> Option<&str> {
        self.inner.summary.as_deref()
    }

    #[getter]
    fn source(&self) -> &str {
        &self.inner.source
    }

    #[getter]
    fn denies(&self) -> bool {
        self.inner.denies
    }

    fn __repr__(&self) -> String {
        format!(
            "Vulnerability(id={:?}, package={:?}, version={:?}, severity={:?})",
            self.inner.id, self.inner.package, self.inner.version, self.inner.severity
        )
    }
}

fn vulnerabilities(py: Python<'_>, found: Vec<advisory::Vulnerability>) -> PyResult<Vec<Py<Vulnerability>>> {
    found.into_iter().map(|item| Py::new(py, Vulnerability::from(item))).collect()
}

/// One locked distribution.
#[pyclass(module = "skillguard", frozen, get_all)]
pub struct LockedPackage {
    name: String,
    version: String,
    wheel: String,
    url: String,
    sha256: String,
    size: Option<u64>,
    required_by: Vec<String>,
    requirements: Vec<String>,
}

#[pymethods]
impl LockedPackage {
    fn __repr__(&self) -> String {
        format!("LockedPackage(name={:?}, version={:?})", self.name, self.version)
    }
}

/// The exact, hashed set of wheels for a target environment.
#[pyclass(module = "skillguard", frozen)]
pub struct Lock {
    pub inner: resolve::Lock,
}

#[pymethods]
impl Lock {
    #[getter]
    fn packages(&self, py: Python<'_>) -> PyResult<Vec<Py<LockedPackage>>> {
        self.inner
            .packages
            .iter()
            .map(|package| {
                Py::new(
                    py,
                    LockedPackage {
                        name: package.name.clone(),
                        version: package.version.clone(),
                        wheel: package.wheel.clone(),
                        url: package.url.clone(),
                        sha256: package.sha256.clone(),
                        size: package.size,
                        required_by: package.required_by.clone(),
                        requirements: package.requirements.clone(),
                    },
                )
            })
            .collect()
    }

    #[getter]
    fn digest(&self) -> String {
        self.inner.digest.clone()
    }

    #[getter]
    fn requirements(&self) -> Vec<String> {
        self.inner.requirements.clone()
    }

    /// Returns the target environment as a dict.
    #[getter]
    fn target(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.inner.target)
    }

    /// Serialises the lock as JSON.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// Renders the lock as a PEP 751 `pylock.toml` file.
    fn to_pylock_toml(&self) -> String {
        self.inner.to_pylock_toml()
    }

    /// Renders the lock as a pip requirements file with hashes.
    fn to_requirements_txt(&self) -> String {
        self.inner.to_requirements_txt()
    }

    fn __len__(&self) -> usize {
        self.inner.packages.len()
    }

    fn __repr__(&self) -> String {
        let names: Vec<String> = self.inner.packages.iter().map(|package| format!("{}=={}", package.name, package.version)).collect();
        format!("Lock([{}], digest={:?})", names.join(", "), self.inner.digest)
    }
}

/// Everything a scan found.
#[pyclass(module = "skillguard", frozen, get_all)]
pub struct ScanReport {
    safe: bool,
    vulnerabilities: Vec<Py<Vulnerability>>,
    waived: Vec<Py<Vulnerability>>,
    dependency_tree: Py<PyAny>,
    conflicts: Vec<String>,
    denials: Py<PyAny>,
    lock: Option<Py<Lock>>,
    advisory_db: Py<PyAny>,
}

impl ScanReport {
    pub fn new(py: Python<'_>, report: scan::ScanReport) -> PyResult<Self> {
        Ok(ScanReport {
            safe: report.safe,
            dependency_tree: to_python(py, &report.dependency_tree)?,
            denials: to_python(py, &report.denials)?,
            advisory_db: to_python(py, &report.advisory_db)?,
            vulnerabilities: vulnerabilities(py, report.vulnerabilities)?,
            waived: vulnerabilities(py, report.waived)?,
            conflicts: report.conflicts,
            lock: report.lock.map(|inner| Py::new(py, Lock { inner })).transpose()?,
        })
    }
}

#[pymethods]
impl ScanReport {
    fn __repr__(&self) -> String {
        format!(
            "ScanReport(safe={}, vulnerabilities={}, conflicts={})",
            if self.safe { "True" } else { "False" },
            self.vulnerabilities.len(),
            self.conflicts.len()
        )
    }
}

/// The outcome of an install.
#[pyclass(module = "skillguard", frozen, get_all)]
pub struct InstallResult {
    success: bool,
    skill_id: String,
    image_tag: Option<String>,
    lock: Option<Py<Lock>>,
    vulnerabilities: Vec<Py<Vulnerability>>,
    denials: Py<PyAny>,
    conflicts: Vec<String>,
    build_logs: Vec<String>,
    error: Option<String>,
    reused: bool,
    downloaded: Vec<String>,
}

impl InstallResult {
    pub fn new(py: Python<'_>, result: install::InstallResult) -> PyResult<Self> {
        Ok(InstallResult {
            success: result.success,
            skill_id: result.skill_id,
            image_tag: result.image_tag,
            lock: result.lock.map(|inner| Py::new(py, Lock { inner })).transpose()?,
            vulnerabilities: vulnerabilities(py, result.vulnerabilities)?,
            denials: to_python(py, &result.denials)?,
            conflicts: result.conflicts,
            build_logs: result.build_logs,
            error: result.error,
            reused: result.reused,
            downloaded: result.downloaded,
        })
    }
}

#[pymethods]
impl InstallResult {
    fn __repr__(&self) -> String {
        format!(
            "InstallResult(success={}, image_tag={:?}, reused={}, error={:?})",
            if self.success { "True" } else { "False" },
            self.image_tag,
            if self.reused { "True" } else { "False" },
            self.error
        )
    }
}

/// The outcome of a sandbox run.
#[pyclass(module = "skillguard", frozen, get_all)]
pub struct ExecutionResult {
    stdout: String,
    stderr: String,
    exit_code: Option<i64>,
    verdict: String,
    duration_ms: u64,
    truncated: bool,
    value: Option<Py<PyAny>>,
    image: String,
}

impl ExecutionResult {
    pub fn new(py: Python<'_>, result: sandbox::ExecutionResult) -> PyResult<Self> {
        Ok(ExecutionResult {
            value: result.value.as_ref().map(|value| from_json(py, value)).transpose()?,
            stdout: result.stdout,
            stderr: result.stderr,
            exit_code: result.exit_code,
            verdict: result.verdict.as_str().to_string(),
            duration_ms: result.duration_ms,
            truncated: result.truncated,
            image: result.image,
        })
    }
}

#[pymethods]
impl ExecutionResult {
    /// True when the deadline passed and the run was killed.
    #[getter]
    fn timed_out(&self) -> bool {
        self.verdict == "timeout"
    }

    /// True when the code exited with status 0.
    #[getter]
    fn ok(&self) -> bool {
        self.verdict == "ok"
    }

    fn __repr__(&self) -> String {
        format!(
            "ExecutionResult(verdict={:?}, exit_code={:?}, duration_ms={})",
            self.verdict, self.exit_code, self.duration_ms
        )
    }
}
