//! Mapping core errors to the Python exception hierarchy of `skillguard.errors`.

use pyo3::prelude::*;

use crate::error::Error;

pyo3::import_exception!(skillguard.errors, SkillguardError);
pyo3::import_exception!(skillguard.errors, RequirementError);
pyo3::import_exception!(skillguard.errors, InvalidArgumentError);
pyo3::import_exception!(skillguard.errors, ResolutionError);
pyo3::import_exception!(skillguard.errors, PackageIndexError);
pyo3::import_exception!(skillguard.errors, AdvisoryDatabaseError);
pyo3::import_exception!(skillguard.errors, StoreError);
pyo3::import_exception!(skillguard.errors, DockerUnavailable);
pyo3::import_exception!(skillguard.errors, ImageNotFound);
pyo3::import_exception!(skillguard.errors, BuildError);
pyo3::import_exception!(skillguard.errors, ImageQuarantined);
pyo3::import_exception!(skillguard.errors, SandboxError);
pyo3::import_exception!(skillguard.errors, SkillError);

/// Converts a core error into the matching Python exception.
pub fn to_py(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::Requirement { .. } => RequirementError::new_err(message),
        Error::InvalidArgument(_) => InvalidArgumentError::new_err(message),
        Error::Resolution(_) => ResolutionError::new_err(message),
        Error::Index(_) => PackageIndexError::new_err(message),
        Error::Advisory(_) => AdvisoryDatabaseError::new_err(message),
        Error::Store(_) => StoreError::new_err(message),
        Error::Io { .. } => SkillguardError::new_err(message),
        Error::DockerUnavailable(_) => DockerUnavailable::new_err(message),
        Error::ImageNotFound(_) => ImageNotFound::new_err(message),
        Error::Build(_) => BuildError::new_err(message),
        Error::Quarantined(_) => ImageQuarantined::new_err(message),
        Error::Docker(_) => SandboxError::new_err(message),
        Error::Skill(_) => SkillError::new_err(message),
        Error::Interrupted => pyo3::exceptions::PyKeyboardInterrupt::new_err("interrupted"),
    }
}

/// Builds the error for a task that panicked inside the runtime, so no panic crosses into Python.
pub fn internal(message: String) -> PyErr {
    SkillguardError::new_err(format!("internal error in skillguard: {message}"))
}

/// Extension for `Result<T, Error>` → `PyResult<T>`.
pub trait IntoPyResult<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
