//! The one error type of the core, mapped to Python exceptions in `python/errors.rs`.

use std::path::PathBuf;

/// Every failure the core reports. Expected outcomes (a denial, a vulnerable
/// set, code that raised) are results, not errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A requirement line that is not valid PEP 508 or that skills may not use.
    #[error("invalid requirement on line {line}, column {column}: {reason}\n  {input}\nhint: {hint}")]
    Requirement {
        line: usize,
        column: usize,
        input: String,
        reason: String,
        hint: String,
    },

    /// A value passed by the caller that is out of range or malformed.
    #[error("{0}")]
    InvalidArgument(String),

    /// The requirements have no solution the resolver can find for the target.
    #[error("{0}")]
    Resolution(String),

    /// The package index could not be reached or returned something unusable.
    #[error("{0}")]
    Index(String),

    /// The advisory database is missing, empty or stale, or an import failed.
    #[error("{0}")]
    Advisory(String),

    /// The SQLite store failed.
    #[error("database error: {0}")]
    Store(#[from] rusqlite::Error),

    /// A file or directory could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// No Docker engine responds at the configured address.
    #[error("{0}")]
    DockerUnavailable(String),

    /// An image the caller named does not exist and could not be pulled.
    #[error("{0}")]
    ImageNotFound(String),

    /// An image was quarantined by a rescan and may not run.
    #[error("{0}")]
    Quarantined(String),

    /// An image build failed; the message ends with the tail of the build log.
    #[error("{0}")]
    Build(String),

    /// The Docker engine refused or failed an operation on a container.
    #[error("{0}")]
    Docker(String),

    /// A skill directory or its `SKILL.md` could not be used.
    #[error("{0}")]
    Skill(String),

    /// A long call was interrupted by the caller (for example Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with what was being done and on which path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
