//! `PackageGovernance`: the policy store, rules, workflow, decision cache and
//! audit queries, seen from Python.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyString;

use super::convert::to_python;
use super::errors::IntoPyResult;
use super::results::{Decision, PolicyRecord};
use crate::audit::{self, AuditFilter};
use crate::error::Error;
use crate::governance::{
    self, canonical_package_type, policy_file, Cached, DenialRecord, Expiry, Governance, ListFilter, Lookup, MaturityResolver,
};
use crate::store::Store;

/// Wraps a Python callable `f(agent_id) -> str | None` as the maturity source.
/// Ctrl-C inside the callable stays a KeyboardInterrupt; an empty or blank
/// level counts as an unknown agent.
fn python_resolver(callable: Py<PyAny>) -> MaturityResolver {
    Arc::new(move |agent_id: &str| {
        Python::attach(|py| {
            let level = callable.call1(py, (agent_id,)).map_err(|error| {
                if error.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) {
                    return Error::Interrupted;
                }
                Error::InvalidArgument(format!("maturity_resolver failed for agent {agent_id}: {error}"))
            })?;
            let level = level.extract::<Option<String>>(py).map_err(|_| {
                Error::InvalidArgument(format!("maturity_resolver must return a str or None for agent {agent_id}"))
            })?;
            Ok(level.filter(|level| !level.trim().is_empty()))
        })
    })
}

/// Reads a time given as an ISO 8601 string or a `datetime` (naive ones are UTC).
fn time_text(value: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<String>> {
    let Some(value) = value else {
        return Ok(None);
    };
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Some(text.to_string()));
    }
    match value.call_method0("isoformat") {
        Ok(text) => Ok(Some(text.extract()?)),
        Err(_) => Err(Error::InvalidArgument(format!(
            "{what} must be an ISO 8601 string or a datetime, not {}",
            value.get_type().name().map(|name| name.to_string()).unwrap_or_default()
        )))
        .py(),
    }
}

fn expiry(expires_at: Option<&Bound<'_, PyAny>>, expires_in: Option<f64>) -> PyResult<Option<Expiry>> {
    match (time_text(expires_at, "expires_at")?, expires_in) {
        (Some(_), Some(_)) => Err(Error::InvalidArgument("give expires_at or expires_in, not both".into())).py(),
        (Some(at), None) => Ok(Some(Expiry::At(at))),
        (None, Some(seconds)) => Ok(Some(Expiry::In(seconds))),
        (None, None) => Ok(None),
    }
}

/// Returns the Python object of a decision, creating it once per cached decision.
fn decision_object(py: Python<'_>, cached: &Cached) -> PyResult<Py<Decision>> {
    if let Some(object) = cached.view.get().and_then(|view| view.downcast_ref::<Py<Decision>>()) {
        return Ok(object.clone_ref(py));
    }
    let object = Py::new(py, Decision::new(cached.decision.clone()))?;
    // Another thread may have set it first; either object is a correct view.
    let _ = cached.view.set(Arc::new(object.clone_ref(py)));
    Ok(object)
}

#[pyclass(module = "skillguard", frozen)]
pub struct PackageGovernance {
    pub inner: Governance,
}

#[pymethods]
impl PackageGovernance {
    #[new]
    #[pyo3(signature = (db = None, *, maturity_resolver = None, cache_size = governance::DEFAULT_CACHE_CAPACITY as i64, cache_ttl = governance::DEFAULT_CACHE_TTL.as_secs_f64()))]
    fn new(db: Option<&str>, maturity_resolver: Option<Py<PyAny>>, cache_size: i64, cache_ttl: f64) -> PyResult<Self> {
        let cache_size = usize::try_from(cache_size)
            .map_err(|_| Error::InvalidArgument(format!("invalid cache_size {cache_size}: expected 0 (no cache) or more")))
            .py()?;
        let ttl = Duration::try_from_secs_f64(cache_ttl)
            .map_err(|_| Error::InvalidArgument(format!("invalid cache_ttl {cache_ttl}: expected a non-negative number of seconds")))
            .py()?;
        let store = Store::open(db).py()?;
        let resolver = maturity_resolver.map(python_resolver);
        Ok(PackageGovernance { inner: Governance::with_cache(store, resolver, cache_size, ttl) })
    }

    #[getter]
    fn db(&self) -> String {
        self.inner.store().location().to_string()
    }

    #[pyo3(signature = (agent_id, level, *, actor = None))]
    fn set_agent_maturity(&self, py: Python<'_>, agent_id: &str, level: &str, actor: Option<&str>) -> PyResult<()> {
        py.detach(|| self.inner.set_agent_maturity(agent_id, level, actor)).py()
    }

    /// A cache hit returns with the GIL held, because it takes well under a
    /// microsecond. A miss releases the GIL while the store is read.
    /// With `audit=True` a denial is also written to the audit log (with
    /// `skill_id`); a plain check is a question and writes nothing.
    #[pyo3(signature = (agent_id, package, version = None, *, package_type = "python", audit = false, skill_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        py: Python<'_>,
        agent_id: &str,
        package: &str,
        version: Option<&str>,
        package_type: &str,
        audit: bool,
        skill_id: Option<&str>,
    ) -> PyResult<Py<Decision>> {
        let package_type = canonical_package_type(package_type).py()?;
        let version = version.unwrap_or("");
        let decision = match self.inner.cached(agent_id, package_type, package, version).py()? {
            Lookup::Hit(decision) => decision,
            Lookup::Miss(epoch) => py.detach(|| self.inner.check_missed(agent_id, package_type, package, version, epoch)).py()?,
        };
        if audit && !decision.decision.allowed {
            let denial = DenialRecord {
                agent_id,
                skill_id,
                package_type,
                package,
                version,
                rule: decision.decision.rule,
                reason: &decision.decision.reason,
            };
            py.detach(|| self.inner.audit_denial(&denial)).py()?;
        }
        decision_object(py, &decision)
    }

    /// Checks every `(package, version)` pair, reading the store once for all misses.
    #[pyo3(signature = (agent_id, packages, *, package_type = "python"))]
    fn check_many(&self, py: Python<'_>, agent_id: &str, packages: Vec<(PyBackedStr, PyBackedStr)>, package_type: &str) -> PyResult<Vec<Py<Decision>>> {
        // PyBackedStr borrows each str's UTF-8 rather than copying it.
        let pairs: Vec<(&str, &str)> = packages.iter().map(|(name, version)| (&**name, &**version)).collect();
        let decisions = py.detach(|| self.inner.check_many(agent_id, package_type, &pairs)).py()?;
        decisions.iter().map(|decision| decision_object(py, decision)).collect()
    }

    #[pyo3(signature = (requirement, *, min_maturity = "intern", approved_by = None, expires_at = None, expires_in = None, package_type = "python"))]
    fn approve(
        &self,
        py: Python<'_>,
        requirement: &str,
        min_maturity: &str,
        approved_by: Option<&str>,
        expires_at: Option<&Bound<'_, PyAny>>,
        expires_in: Option<f64>,
        package_type: &str,
    ) -> PyResult<PolicyRecord> {
        let expiry = expiry(expires_at, expires_in)?;
        let record = py.detach(|| self.inner.approve(package_type, requirement, min_maturity, approved_by, expiry.as_ref())).py()?;
        Ok(record.into())
    }

    #[pyo3(signature = (requirement, *, reason, banned_by = None, expires_at = None, expires_in = None, package_type = "python"))]
    fn ban(
        &self,
        py: Python<'_>,
        requirement: &str,
        reason: &str,
        banned_by: Option<&str>,
        expires_at: Option<&Bound<'_, PyAny>>,
        expires_in: Option<f64>,
        package_type: &str,
    ) -> PyResult<PolicyRecord> {
        let expiry = expiry(expires_at, expires_in)?;
        let record = py.detach(|| self.inner.ban(package_type, requirement, reason, banned_by, expiry.as_ref())).py()?;
        Ok(record.into())
    }

    #[pyo3(signature = (requirement, *, reason = None, marked_by = None, package_type = "python"))]
    fn mark_untrusted(&self, py: Python<'_>, requirement: &str, reason: Option<&str>, marked_by: Option<&str>, package_type: &str) -> PyResult<PolicyRecord> {
        Ok(py.detach(|| self.inner.mark_untrusted(package_type, requirement, reason, marked_by)).py()?.into())
    }

    #[pyo3(signature = (requirement, *, requested_by = None, reason = None, package_type = "python"))]
    fn request_approval(&self, py: Python<'_>, requirement: &str, requested_by: Option<&str>, reason: Option<&str>, package_type: &str) -> PyResult<PolicyRecord> {
        Ok(py.detach(|| self.inner.request_approval(package_type, requirement, requested_by, reason)).py()?.into())
    }

    #[pyo3(signature = (requirement, *, revoked_by = None, reason = None, package_type = "python"))]
    fn revoke(&self, py: Python<'_>, requirement: &str, revoked_by: Option<&str>, reason: Option<&str>, package_type: &str) -> PyResult<PolicyRecord> {
        Ok(py.detach(|| self.inner.revoke(package_type, requirement, revoked_by, reason)).py()?.into())
    }

    #[pyo3(signature = (*, status = None, package_type = None, name = None))]
    fn list(&self, py: Python<'_>, status: Option<&str>, package_type: Option<&str>, name: Option<&str>) -> PyResult<Vec<PolicyRecord>> {
        let filter = ListFilter { status, package_type, name };
        let records = py.detach(|| self.inner.list(&filter)).py()?;
        Ok(records.into_iter().map(PolicyRecord::from).collect())
    }

    #[pyo3(signature = (requirement, *, package_type = "python"))]
    fn history(&self, py: Python<'_>, requirement: &str, package_type: &str) -> PyResult<Py<PyAny>> {
        let entries = py.detach(|| self.inner.history(package_type, requirement)).py()?;
        to_python(py, &entries)
    }

    #[pyo3(signature = (*, agent_id = None, skill_id = None, package = None, action = None, since = None, until = None, limit = 100))]
    #[allow(clippy::too_many_arguments)]
    fn audit_log(
        &self,
        py: Python<'_>,
        agent_id: Option<&str>,
        skill_id: Option<&str>,
        package: Option<&str>,
        action: Option<&str>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        limit: i64,
    ) -> PyResult<Py<PyAny>> {
        let limit = usize::try_from(limit)
            .map_err(|_| Error::InvalidArgument(format!("invalid limit {limit}: expected 0 or more")))
            .py()?;
        let since = time_text(since, "since")?;
        let until = time_text(until, "until")?;
        let filter = AuditFilter { agent_id, skill_id, package, action, since: since.as_deref(), until: until.as_deref(), limit };
        let entries = py.detach(|| audit::query(&self.inner.store().lock(), &filter)).py()?;
        to_python(py, &entries)
    }

    /// Returns the policy as TOML or JSON, and writes it to `path` when given.
    #[pyo3(signature = (path = None, *, format = None))]
    fn export_policy(&self, py: Python<'_>, path: Option<PathBuf>, format: Option<&str>) -> PyResult<String> {
        let format = match (format, &path) {
            (Some(format), _) => policy_file::Format::parse(format).py()?,
            (None, Some(path)) => policy_file::Format::for_path(path),
            (None, None) => policy_file::Format::Toml,
        };
        let text = py.detach(|| policy_file::export(&self.inner, format)).py()?;
        if let Some(path) = path {
            std::fs::write(&path, &text).map_err(|error| Error::io("failed to write policy file", &path, error)).py()?;
        }
        Ok(text)
    }

    /// Imports a policy from `path` or from `text`, all or nothing.
    #[pyo3(signature = (path = None, *, text = None, format = None, actor = "policy-import", replace = false))]
    fn import_policy(
        &self,
        py: Python<'_>,
        path: Option<PathBuf>,
        text: Option<&str>,
        format: Option<&str>,
        actor: &str,
        replace: bool,
    ) -> PyResult<Py<PyAny>> {
        let format = format.map(policy_file::Format::parse).transpose().py()?;
        let summary = py
            .detach(|| match (&path, text) {
                (Some(path), None) => {
                    let contents = std::fs::read_to_string(path).map_err(|error| Error::io("failed to read policy file", path, error))?;
                    let format = format.unwrap_or_else(|| policy_file::Format::for_path(path));
                    policy_file::import(&self.inner, &contents, format, &path.display().to_string(), actor, replace)
                }
                (None, Some(text)) => {
                    policy_file::import(&self.inner, text, format.unwrap_or(policy_file::Format::Toml), "<text>", actor, replace)
                }
                (Some(_), Some(_)) => Err(Error::InvalidArgument("import_policy takes a path or text=, not both".into())),
                (None, None) => Err(Error::InvalidArgument("import_policy needs a path or text=".into())),
            })
            .py()?;
        to_python(py, &summary)
    }

    /// Applies a policy file on top of the current policy (`import_policy` without `replace`).
    #[pyo3(signature = (path, *, actor = "policy-file"))]
    fn apply_policy_file(&self, py: Python<'_>, path: PathBuf, actor: &str) -> PyResult<Py<PyAny>> {
        let summary = py.detach(|| policy_file::import_file(&self.inner, &path, actor, false)).py()?;
        to_python(py, &summary)
    }

    fn cache_stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.inner.cache_stats())
    }

    fn clear_cache(&self) {
        self.inner.clear_cache();
    }

    /// Drops the cached decisions of one agent, for hosts whose maturity
    /// resolver reads a table skillguard does not write.
    fn invalidate_agent(&self, agent_id: &str) {
        self.inner.invalidate_agent(agent_id);
    }
}
