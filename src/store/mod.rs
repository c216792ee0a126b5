//! The one SQLite database behind governance, advisories, images and the audit
//! log: opening, pragmas and schema migrations.

mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// A shared handle to the database. Clones share one connection, so a
/// `":memory:"` database is visible to every component built from one handle.
#[derive(Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
    location: String,
}

impl Store {
    /// Opens (creating if needed) the database at `location`: a file path,
    /// `":memory:"`, or `None` for the default under the user's data directory.
    pub fn open(location: Option<&str>) -> Result<Self> {
        let location = match location {
            Some(location) if !location.trim().is_empty() => location.to_string(),
            Some(_) => return Err(Error::InvalidArgument("database path is empty".into())),
            None => default_path()?.to_string_lossy().into_owned(),
        };

        let connection = if location == ":memory:" {
            Connection::open_in_memory()?
        } else {
            let path = Path::new(&location);
            if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|error| Error::io("failed to create directory", parent, error))?;
            }
            Connection::open(path).map_err(|error| {
                Error::InvalidArgument(format!("failed to open database {location}: {error}"))
            })?
        };

        connection.busy_timeout(Duration::from_secs(10))?;
        // WAL lets readers in other processes go on while one process writes.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        schema::migrate(&connection)?;

        Ok(Store {
            connection: Arc::new(Mutex::new(connection)),
            location,
        })
    }

    /// Returns the path or `":memory:"` the store was opened with.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Locks the connection for one unit of work.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held cannot leave SQLite inconsistent
        // (transactions roll back on drop), so a poisoned lock is still usable.
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Returns the default database path: `$SKILLGUARD_DB`, else `<data dir>/skillguard/skillguard.db`.
pub fn default_path() -> Result<PathBuf> {
    if let Ok(path) = std::env::var("SKILLGUARD_DB") {
        if !path.is_empty() {
            return Ok(PathBuf::from(path));
        }
    }
    let data_dir = dirs::data_dir().ok_or_else(|| {
        Error::InvalidArgument("no user data directory is known here; pass a database path or set SKILLGUARD_DB".into())
    })?;
    Ok(data_dir.join("skillguard").join("skillguard.db"))
}

/// The current time as SQLite writes it in every timestamp column (UTC, RFC 3339).
pub const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
