//! The four classes of the contract: thin wrappers that convert, call one
//! core function and convert back.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use super::convert::{to_json, to_python};
use super::errors::IntoPyResult;
use super::results::{ExecutionResult, InstallResult, Lock, ScanReport, Vulnerability};
use super::runtime::{awaitable, block_on};
use crate::advisory::cvss::Rating;
use crate::advisory::{AdvisoryDb, SeverityPolicy, DEFAULT_MAX_AGE_DAYS};
use crate::governance::Governance;
use super::governance::PackageGovernance;
use crate::index::{download, IndexClient, IndexSettings};
use crate::install::{default_base_image, default_wheel_cache, Installer};
use crate::resolve::{ResolveOptions, TargetEnv};
use crate::sandbox::pool::{WarmPool, MAX_POOL_SIZE};
use crate::sandbox::Limits;
use crate::scan::Scanner;
use crate::store::Store;
use crate::image::catalog;
use crate::{docker, sandbox};

/// How long a cancelled sandbox run may take to remove its container.
const CLEANUP_GRACE: Duration = Duration::from_secs(15);

/// Converts optional inputs to a JSON object; `None` is an empty one.
fn inputs_json(py: Python<'_>, inputs: Option<Bound<'_, PyAny>>) -> PyResult<serde_json::Value> {
    match inputs {
        Some(inputs) => to_json(py, &inputs, "inputs"),
        None => Ok(serde_json::json!({})),
    }
}

fn limits(timeout: Option<f64>, memory: Option<&str>, cpus: Option<f64>, pids: Option<i64>, output_limit: Option<usize>) -> PyResult<Limits> {
    Limits::new(timeout, memory, cpus, pids, output_limit).py()
}

#[pyclass(module = "skillguard", frozen)]
pub struct DependencyScanner {
    pub inner: Scanner,
    pub store: Store,
}

#[pymethods]
impl DependencyScanner {
    #[new]
    #[pyo3(signature = (
        db = None, *, governance = None, index_url = None, max_advisory_age_days = DEFAULT_MAX_AGE_DAYS,
        deny_severity = None, deny_unknown_severity = true, extra_index_urls = None, find_links = None,
        cache_dir = None, offline = false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        db: Option<&str>,
        governance: Option<&PackageGovernance>,
        index_url: Option<String>,
        max_advisory_age_days: f64,
        deny_severity: Option<&str>,
        deny_unknown_severity: bool,
        extra_index_urls: Option<Vec<String>>,
        find_links: Option<Vec<String>>,
        cache_dir: Option<PathBuf>,
        offline: bool,
    ) -> PyResult<Self> {
        // A scanner built with a governance object shares its database, so
        // ":memory:" means one database, not two.
        let store = match (governance, db) {
            (Some(governance), None) => governance.inner.store().clone(),
            (Some(governance), Some(path)) if path == governance.inner.store().location() => governance.inner.store().clone(),
            _ => Store::open(db).py()?,
        };
        if !(max_advisory_age_days.is_finite() && max_advisory_age_days > 0.0) {
            return Err(super::errors::to_py(crate::Error::InvalidArgument(format!(
                "max_advisory_age_days {max_advisory_age_days} must be a positive number of days"
            ))));
        }
        let inner = Scanner {
            index: IndexClient::with_settings(IndexSettings {
                index_url,
                extra_index_urls,
                find_links,
                cache_dir: cache_dir.map(|directory| directory.join("http")),
                offline,
            })
            .py()?,
            advisories: AdvisoryDb::new(store.clone()),
            governance: governance.map(|governance| governance.inner.clone()),
            max_advisory_age_days,
            severity_policy: severity_policy(deny_severity, deny_unknown_severity)?,
        };
        Ok(DependencyScanner { inner, store })
    }

    /// Imports OSV advisories from a directory, .zip, .tar.gz or URL.
    #[pyo3(signature = (source, *, progress = None))]
    fn import_advisories(&self, py: Python<'_>, source: String, progress: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        let database = self.inner.advisories.clone();
        let report = block_on(py, Duration::ZERO, move |_| async move {
            let report_progress = move |received: u64, total: Option<u64>| {
                if let Some(callback) = &progress {
                    Python::attach(|py| {
                        if let Err(error) = callback.call1(py, (received, total)) {
                            log::warn!("advisory progress callback failed: {error}");
                        }
                    });
                }
            };
            database.import_source(&source, &report_progress).await
        })?;
        to_python(py, &report)
    }

    /// Imports from SKILLGUARD_ADVISORY_SOURCE when the database is missing or stale.
    fn sync_advisories(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let database = self.inner.advisories.clone();
        let max_age = self.inner.max_advisory_age_days;
        let report = block_on(py, Duration::ZERO, move |_| async move { database.sync_if_needed(max_age, &|_, _| {}).await })?;
        to_python(py, &report)
    }

    fn advisory_status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.inner.advisories.status().py()?)
    }

    fn advisories_for(&self, name: &str, version: &str) -> PyResult<Vec<Vulnerability>> {
        Ok(self.inner.advisories.advisories_for(name, version).py()?.into_iter().map(Vulnerability::from).collect())
    }

    /// Matches many (name, version) pairs at once, as a scan of a resolved set does.
    fn match_packages(&self, packages: Vec<(String, String)>) -> PyResult<Vec<Vulnerability>> {
        Ok(self.inner.advisories.match_packages(&packages).py()?.into_iter().map(Vulnerability::from).collect())
    }

    /// Lists versions that records name explicitly but their own ranges exclude.
    fn advisory_data_errors(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.inner.advisories.data_errors().py()?)
    }

    #[pyo3(signature = (advisory_id, *, reason, expires_at = None, waived_by = None))]
    fn waive(&self, py: Python<'_>, advisory_id: &str, reason: &str, expires_at: Option<&str>, waived_by: Option<&str>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.inner.advisories.waive(advisory_id, reason, expires_at, waived_by).py()?)
    }

    #[pyo3(signature = (advisory_id, *, removed_by = None))]
    fn remove_waiver(&self, advisory_id: &str, removed_by: Option<&str>) -> PyResult<bool> {
        self.inner.advisories.remove_waiver(advisory_id, removed_by).py()
    }

    fn waivers(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &self.inner.advisories.waivers().py()?)
    }

    /// Resolves requirements for CPython `python_version` on manylinux x86_64.
    #[pyo3(signature = (requirements, *, python_version = None, prereleases = false, cooldown_days = None))]
    fn resolve(
        &self,
        py: Python<'_>,
        requirements: Vec<String>,
        python_version: Option<String>,
        prereleases: bool,
        cooldown_days: Option<f64>,
    ) -> PyResult<Lock> {
        let target = target_for(python_version);
        let scanner = self.inner.clone();
        let options = ResolveOptions { prereleases, cooldown_days };
        let inner = block_on(py, Duration::ZERO, move |_| async move { scanner.resolve_with(&requirements, &target, &options).await })?;
        Ok(Lock { inner })
    }

    /// Downloads the lock's wheels into the content-addressed cache, verifying every sha256.
    #[pyo3(signature = (lock, *, cache_dir = None, progress = None))]
    fn download(&self, py: Python<'_>, lock: &Lock, cache_dir: Option<PathBuf>, progress: Option<Py<PyAny>>) -> PyResult<Vec<String>> {
        let client = self.inner.index.clone();
        let packages = lock.inner.packages.clone();
        let cache = cache_dir.map(|directory| directory.join("wheels")).unwrap_or_else(default_wheel_cache);
        let report: Option<download::Progress> = progress.map(|callback| -> download::Progress {
            Arc::new(move |finished: usize, total: usize, wheel: &str| {
                Python::attach(|py| {
                    if let Err(error) = callback.call1(py, (finished, total, wheel)) {
                        log::warn!("download progress callback failed: {error}");
                    }
                });
            })
        });
        let wheels = block_on(py, Duration::ZERO, move |_| async move { download::download_all(&client, &packages, &cache, report).await })?;
        Ok(wheels.into_iter().map(|wheel| wheel.path.display().to_string()).collect())
    }

    #[pyo3(signature = (requirements, *, agent_id = None, python_version = None))]
    fn scan(&self, py: Python<'_>, requirements: Vec<String>, agent_id: Option<String>, python_version: Option<String>) -> PyResult<ScanReport> {
        let target = target_for(python_version);
        let scanner = self.inner.clone();
        let report = block_on(py, Duration::ZERO, move |_| async move {
            scanner.scan(&requirements, agent_id.as_deref(), &target).await
        })?;
        ScanReport::new(py, report)
    }
}

fn severity_policy(deny_severity: Option<&str>, deny_unknown: bool) -> PyResult<SeverityPolicy> {
    let deny_at = match deny_severity {
        None => None,
        Some(text) => Some(Rating::parse(text).ok_or_else(|| {
            super::errors::to_py(crate::Error::InvalidArgument(format!(
                "invalid deny_severity {text:?}: expected one of none, low, medium, high, critical"
            )))
        })?),
    };
    Ok(SeverityPolicy { deny_at, deny_unknown })
}

fn target_for(python_version: Option<String>) -> TargetEnv {
    let mut target = TargetEnv::default();
    if let Some(version) = python_version {
        target.python_full_version = version;
    }
    target
}

#[pyclass(module = "skillguard", frozen)]
pub struct PackageInstaller {
    inner: Installer,
}

#[pymethods]
impl PackageInstaller {
    #[new]
    #[pyo3(signature = (db = None, *, scanner = None, base_image = None, cache_dir = None, extra_build_steps = None))]
    fn new(
        db: Option<&str>,
        scanner: Option<&DependencyScanner>,
        base_image: Option<String>,
        cache_dir: Option<PathBuf>,
        extra_build_steps: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let (scanner, store) = match scanner {
            Some(scanner) => (scanner.inner.clone(), scanner.store.clone()),
            None => {
                let store = Store::open(db).py()?;
                let scanner = Scanner {
                    index: IndexClient::new(None).py()?,
                    advisories: AdvisoryDb::new(store.clone()),
                    governance: Some(Governance::new(store.clone(), None)),
                    max_advisory_age_days: DEFAULT_MAX_AGE_DAYS,
                    severity_policy: SeverityPolicy::default(),
                };
                (scanner, store)
            }
        };
        let base_image = base_image.unwrap_or_else(default_base_image);
        docker::validate_image_reference(&base_image).py()?;
        let wheel_cache = cache_dir.map(|directory| directory.join("wheels")).unwrap_or_else(default_wheel_cache);
        let extra_build_steps = extra_build_steps.unwrap_or_default();
        crate::image::validate_extra_steps(&extra_build_steps).py()?;
        Ok(PackageInstaller { inner: Installer { scanner, store, base_image, wheel_cache, extra_build_steps } })
    }

    #[getter]
    fn base_image(&self) -> String {
        self.inner.base_image.clone()
    }

    #[pyo3(signature = (skill_id, requirements, *, agent_id, scan_for_vulnerabilities = true, on_log = None))]
    fn install(
        &self,
        py: Python<'_>,
        skill_id: String,
        requirements: Vec<String>,
        agent_id: String,
        scan_for_vulnerabilities: bool,
        on_log: Option<Py<PyAny>>,
    ) -> PyResult<InstallResult> {
        let installer = self.inner.clone();
        let result = block_on(py, Duration::ZERO, move |_| async move {
            let docker = docker::connect().await?;
            let log_line: Box<dyn Fn(&str) + Send + Sync> = Box::new(move |line: &str| {
                if let Some(callback) = &on_log {
                    Python::attach(|py| {
                        if let Err(error) = callback.call1(py, (line,)) {
                            log::warn!("install log callback failed: {error}");
                        }
                    });
                }
            });
            installer.install(&docker, &skill_id, &requirements, &agent_id, scan_for_vulnerabilities, &*log_line).await
        })?;
        InstallResult::new(py, result)
    }

    #[pyo3(signature = (skill_id, code, *, inputs = None, timeout = None, memory = None, cpus = None))]
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        py: Python<'_>,
        skill_id: String,
        code: String,
        inputs: Option<Bound<'_, PyAny>>,
        timeout: Option<f64>,
        memory: Option<&str>,
        cpus: Option<f64>,
    ) -> PyResult<ExecutionResult> {
        let limits = limits(timeout, memory, cpus, None, None)?;
        let inputs = inputs_json(py, inputs)?;
        let installer = self.inner.clone();
        let result = block_on(py, CLEANUP_GRACE, move |cancel| async move {
            let docker = docker::connect().await?;
            installer.execute(&docker, &skill_id, &code, &inputs, &limits, Some(cancel)).await
        })?;
        ExecutionResult::new(py, result)
    }

    /// Lists every skill's image record as dicts.
    fn skill_images(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_python(py, &catalog::skill_images(&self.inner.store).py()?)
    }

    /// Lists the engine's skillguard images with their labels and the skills using each.
    fn images(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let store = self.inner.store.clone();
        let images = block_on(py, Duration::ZERO, move |_| async move {
            let docker = docker::connect().await?;
            catalog::engine_images(&docker, &store).await
        })?;
        to_python(py, &images)
    }

    /// Returns the image record of one skill, or None.
    fn status(&self, py: Python<'_>, skill_id: &str) -> PyResult<Py<PyAny>> {
        to_python(py, &catalog::skill_image(&self.inner.store, skill_id).py()?)
    }

    /// Drops the skill's image record and removes the image if no other skill uses it.
    fn remove(&self, py: Python<'_>, skill_id: String) -> PyResult<Py<PyAny>> {
        let store = self.inner.store.clone();
        let removal = block_on(py, Duration::ZERO, move |_| async move {
            let docker = docker::connect().await?;
            catalog::remove_skill(&docker, &store, &skill_id).await
        })?;
        to_python(py, &removal)
    }

    /// Removes skillguard images no skill uses, and with `older_than_days` also older ones.
    #[pyo3(signature = (*, older_than_days = None))]
    fn prune(&self, py: Python<'_>, older_than_days: Option<f64>) -> PyResult<Py<PyAny>> {
        let store = self.inner.store.clone();
        let removal = block_on(py, Duration::ZERO, move |_| async move {
            let docker = docker::connect().await?;
            catalog::prune(&docker, &store, older_than_days).await
        })?;
        to_python(py, &removal)
    }

    /// Matches every built image's lock against the current advisories.
    #[pyo3(signature = (*, quarantine = false))]
    fn rescan(&self, py: Python<'_>, quarantine: bool) -> PyResult<Py<PyAny>> {
        let scanner = &self.inner.scanner;
        let findings = catalog::rescan(&self.inner.store, &scanner.advisories, &scanner.severity_policy, quarantine).py()?;
        to_python(py, &findings)
    }

    /// Lifts the quarantine of an image; returns whether it was quarantined.
    #[pyo3(signature = (image_tag, *, released_by = None))]
    fn release(&self, image_tag: &str, released_by: Option<&str>) -> PyResult<bool> {
        catalog::release(&self.inner.store, image_tag, released_by).py()
    }
}

#[pyclass(module = "skillguard", frozen, subclass)]
pub struct Sandbox {
    image: String,
    store: Option<Store>,
    warm_pool_size: usize,
    pool: std::sync::Mutex<Option<Arc<WarmPool>>>,
}

impl Sandbox {
    /// Returns the warm pool for runs of `image` with `limits`, creating it on
    /// the first such run; `None` when warm start is off or the limits differ.
    fn pool_for(&self, py: Python<'_>, image: &str, limits: &Limits) -> PyResult<Option<Arc<WarmPool>>> {
        if self.warm_pool_size == 0 {
            return Ok(None);
        }
        let mut slot = self.pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(pool) = slot.as_ref() {
            return Ok(pool.serves(image, limits).then(|| pool.clone()));
        }
        let (image, limits, size) = (image.to_string(), limits.clone(), self.warm_pool_size);
        let pool = block_on(py, Duration::ZERO, move |_| async move {
            let docker = docker::connect().await?;
            WarmPool::start(docker, image, limits, size).await
        })?;
        *slot = Some(pool.clone());
        Ok(Some(pool))
    }

    /// Picks the run's image and refuses an invalid or quarantined one.
    fn checked_image(&self, image: Option<String>) -> PyResult<String> {
        let image = image.unwrap_or_else(|| self.image.clone());
        docker::validate_image_reference(&image).py()?;
        if let Some(store) = &self.store {
            catalog::ensure_not_quarantined(store, &image).py()?;
        }
        Ok(image)
    }
}

#[pymethods]
impl Sandbox {
    #[new]
    #[pyo3(signature = (*, image = None, db = None, warm_pool = 0))]
    fn new(image: Option<String>, db: Option<&str>, warm_pool: usize) -> PyResult<Self> {
        let image = image.unwrap_or_else(default_base_image);
        docker::validate_image_reference(&image).py()?;
        if warm_pool > MAX_POOL_SIZE {
            return Err(super::errors::to_py(crate::Error::InvalidArgument(format!(
                "warm_pool {warm_pool} is out of bounds: expected between 0 and {MAX_POOL_SIZE} containers"
            ))));
        }
        let store = db.map(|path| Store::open(Some(path))).transpose().py()?;
        Ok(Sandbox { image, store, warm_pool_size: warm_pool, pool: std::sync::Mutex::new(None) })
    }

    /// Removes the warm pool's idle containers; later runs start cold or refill it.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let pool = self.pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(pool) = pool {
            block_on(py, Duration::ZERO, move |_| async move {
                pool.close().await;
                Ok(())
            })?;
        }
        Ok(())
    }

    #[pyo3(signature = (
        code, *, image = None, inputs = None, timeout = None, memory = None, cpus = None, pids = None,
        output_limit = None, runtime = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        code: String,
        image: Option<String>,
        inputs: Option<Bound<'_, PyAny>>,
        timeout: Option<f64>,
        memory: Option<&str>,
        cpus: Option<f64>,
        pids: Option<i64>,
        output_limit: Option<usize>,
        runtime: Option<&str>,
    ) -> PyResult<ExecutionResult> {
        let limits = limits(timeout, memory, cpus, pids, output_limit)?.with_runtime(runtime).py()?;
        let image = self.checked_image(image)?;
        let inputs = inputs_json(py, inputs)?;
        let pool = self.pool_for(py, &image, &limits)?;
        let result = block_on(py, CLEANUP_GRACE, move |cancel| async move {
            let docker = docker::connect().await?;
            let warm = pool.and_then(|pool| pool.take().map(|container| (container, pool)));
            sandbox::run_in(&docker, &image, &code, &inputs, &limits, Some(cancel), warm).await
        })?;
        ExecutionResult::new(py, result)
    }

    /// Runs like `run`, as an awaitable that needs a running event loop;
    /// `skillguard.Sandbox.run_async` wraps it in a coroutine.
    // NOTE: async runs always start cold; the warm pool serves `run` only.
    #[pyo3(signature = (
        code, *, image = None, inputs = None, timeout = None, memory = None, cpus = None, pids = None,
        output_limit = None, runtime = None
    ))]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(name = "_run_async")]
    fn run_async<'py>(
        &self,
        py: Python<'py>,
        code: String,
        image: Option<String>,
        inputs: Option<Bound<'py, PyAny>>,
        timeout: Option<f64>,
        memory: Option<&str>,
        cpus: Option<f64>,
        pids: Option<i64>,
        output_limit: Option<usize>,
        runtime: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let limits = limits(timeout, memory, cpus, pids, output_limit)?.with_runtime(runtime).py()?;
        let image = self.checked_image(image)?;
        let inputs = inputs_json(py, inputs)?;
        awaitable(
            py,
            move |cancel| async move {
                let docker = docker::connect().await?;
                sandbox::run(&docker, &image, &code, &inputs, &limits, Some(cancel)).await
            },
            |py, result| Ok(Py::new(py, ExecutionResult::new(py, result)?)?.into_any()),
        )
    }

    /// Removes sandbox containers left behind by processes that exited; returns how many.
    fn sweep(&self, py: Python<'_>) -> PyResult<usize> {
        block_on(py, Duration::ZERO, move |_| async move {
            let docker = docker::connect().await?;
            sandbox::sweep_leftovers(&docker).await
        })
    }
}
