//! Conversions between Python values and JSON values.

use pyo3::prelude::*;
use pyo3::types::PyAnyMethods;

use crate::error::Error;

/// Converts a Python value to JSON through the `json` module, so inputs
/// follow exactly the rules Python users expect (`True` → `true`, `None` → `null`).
pub fn to_json(py: Python<'_>, value: &Bound<'_, PyAny>, description: &str) -> PyResult<serde_json::Value> {
    let text: String = py
        .import("json")?
        .call_method1("dumps", (value,))
        .map_err(|error| super::errors::to_py(Error::InvalidArgument(format!("{description} must be JSON-serialisable: {error}"))))?
        .extract()?;
    serde_json::from_str(&text)
        .map_err(|error| super::errors::to_py(Error::InvalidArgument(format!("{description} is not valid JSON: {error}"))))
}

/// Converts a JSON value to Python objects through the `json` module.
pub fn from_json(py: Python<'_>, value: &serde_json::Value) -> PyResult<Py<PyAny>> {
    Ok(py.import("json")?.call_method1("loads", (value.to_string(),))?.unbind())
}

/// Converts any serialisable core value to Python objects.
pub fn to_python<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let json = serde_json::to_value(value).map_err(|error| super::errors::internal(error.to_string()))?;
    from_json(py, &json)
}
