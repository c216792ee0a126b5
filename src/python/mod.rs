//! The PyO3 layer: the only part of the crate that imports pyo3.

mod classes;
mod convert;
mod errors;
mod governance;
mod results;
mod runtime;

use pyo3::prelude::*;

/// Reads a skill directory's `SKILL.md` into a dict with `name`, `packages`,
/// `agent`, `inputs` and `code`.
#[pyfunction]
fn load_skill(py: Python<'_>, directory: std::path::PathBuf) -> PyResult<Py<PyAny>> {
    let skill = crate::skill::load(&directory).map_err(errors::to_py)?;
    let value = serde_json::json!({
        "name": skill.name,
        "packages": skill.packages,
        "agent": skill.agent,
        "inputs": skill.inputs,
        "code": skill.code,
    });
    convert::from_json(py, &value)
}

/// Normalises a distribution name as PEP 503 does.
#[pyfunction]
fn normalize_name(name: &str) -> String {
    crate::requirement::normalize_name(name)
}

/// Parses requirement lines; raises `RequirementError` naming the bad line.
/// Returns the normalised names in order.
#[pyfunction]
fn parse_requirements(lines: Vec<String>) -> PyResult<Vec<String>> {
    let parsed = crate::requirement::parse_requirements(&lines).map_err(errors::to_py)?;
    Ok(parsed.into_iter().map(|requirement| requirement.name).collect())
}

/// Computes the CVSS v3 base score and rating of a vector; `None` when it is not a valid v3 vector.
#[pyfunction]
fn cvss_base_score(vector: &str) -> Option<(f64, &'static str)> {
    crate::advisory::cvss::base_score(vector).map(|score| (score.score, score.rating.as_str()))
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    // Routes the crate's `log` records to Python's `logging` under the logger `skillguard`.
    let _ = pyo3_log::Logger::new(module.py(), pyo3_log::Caching::LoggersAndLevels)?
        .filter_target("skillguard".to_string(), log::LevelFilter::Trace)
        .install();

    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<governance::PackageGovernance>()?;
    module.add_class::<classes::DependencyScanner>()?;
    module.add_class::<classes::PackageInstaller>()?;
    module.add_class::<classes::Sandbox>()?;
    module.add_class::<results::Decision>()?;
    module.add_class::<results::PolicyRecord>()?;
    module.add_class::<results::Vulnerability>()?;
    module.add_class::<results::LockedPackage>()?;
    module.add_class::<results::Lock>()?;
    module.add_class::<results::ScanReport>()?;
    module.add_class::<results::InstallResult>()?;
    module.add_class::<results::ExecutionResult>()?;
    module.add_function(wrap_pyfunction!(load_skill, module)?)?;
    module.add_function(wrap_pyfunction!(normalize_name, module)?)?;
    module.add_function(wrap_pyfunction!(parse_requirements, module)?)?;
    module.add_function(wrap_pyfunction!(cvss_base_score, module)?)?;
    Ok(())
}
