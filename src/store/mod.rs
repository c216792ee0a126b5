//! The one SQLite database behind governance, advisories, images and the audit
//! log: opening, pragmas and schema migrations.

mod schema;
mod watch;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// A shared handle to the database. Clones share one connection, so a
/// `":memory:"` database is visible to every component built from one handle.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    location: String,
}

struct Shared {
    // Declared before `wal_header` so that the connection, which owns the
    // mapping the header view points into, is closed first and the view is
    // never read after it.
    connection: Mutex<Connection>,
    wal_header: Option<watch::WalHeader>,
    /// State the components built over this store share, one value per type.
    attached: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

/// The state of the database when [`Store::others_committed`] last read it.
#[derive(Clone, Debug, Default)]
pub struct CommitMark {
    header: Option<watch::HeaderWords>,
    data_version: Option<i64>,
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

        let mut connection = if location == ":memory:" {
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
        // Every transaction this crate opens writes. A deferred one that reads
        // first and then writes gets SQLITE_BUSY at once, without the busy
        // timeout, when another connection wrote in between. An immediate one
        // takes the write lock first, so it waits for it instead.
        connection.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        // WAL lets readers in other processes go on while one process writes.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        schema::migrate(&connection)?;
        let wal_header = if location == ":memory:" { None } else { watch::WalHeader::locate(&connection) };
        if wal_header.is_none() && location != ":memory:" {
            log::debug!("{location}: no WAL index to watch; other connections' commits are found with PRAGMA data_version");
        }

        Ok(Store {
            shared: Arc::new(Shared { connection: Mutex::new(connection), wal_header, attached: Mutex::default() }),
            location,
        })
    }

    /// Tells whether another connection, in this process or another, has
    /// committed since `mark` was last moved, and moves it to now. The first
    /// call on a new mark only sets it. Costs a few nanoseconds when nothing
    /// was committed; otherwise one `PRAGMA data_version`.
    pub fn others_committed(&self, mark: &mut CommitMark) -> Result<bool> {
        if self.location == ":memory:" {
            // Nothing outside this handle can reach a private in-memory database.
            return Ok(false);
        }
        // The header is read before data_version, so a commit landing between
        // the two reads changes the header again and is seen on the next call.
        let header = self.shared.wal_header.as_ref().map(watch::WalHeader::read);
        if header.is_some() && header == mark.header {
            return Ok(false);
        }
        let version: i64 = self.lock().pragma_query_value(None, "data_version", |row| row.get(0))?;
        let changed = mark.data_version.is_some_and(|seen| seen != version);
        mark.header = header;
        mark.data_version = Some(version);
        Ok(changed)
    }

    /// Returns the path or `":memory:"` the store was opened with.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Returns the value of type `T` attached to this store (and its clones),
    /// attaching `make()` first if there is none. Components use it to share
    /// state that must follow the connection, such as the decision cache that
    /// every governance engine over one connection must keep in step.
    pub fn attached<T: Any + Send + Sync>(&self, make: impl FnOnce() -> T) -> Arc<T> {
        let mut attached = self.shared.attached.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let value = attached.entry(TypeId::of::<T>()).or_insert_with(|| Arc::new(make())).clone();
        drop(attached);
        value.downcast::<T>().unwrap_or_else(|_| unreachable!("values are stored under their own type id"))
    }

    /// Locks the connection for one unit of work.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held cannot leave SQLite inconsistent
        // (transactions roll back on drop), so a poisoned lock is still usable.
        self.shared.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// Converts an ISO 8601 time (UTC unless it names an offset) to the form of
/// every timestamp column, or `None` when SQLite cannot read it or its date
/// does not exist (SQLite would roll 2030-02-30 over to 2 March).
pub fn utc_timestamp(connection: &Connection, text: &str) -> Result<Option<String>> {
    Ok(connection.query_row(
        "SELECT CASE
           WHEN ?1 GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' AND date(substr(?1, 1, 10)) IS NOT substr(?1, 1, 10)
           THEN NULL
           ELSE strftime('%Y-%m-%dT%H:%M:%fZ', ?1)
         END",
        [text.trim()],
        |row| row.get(0),
    )?)
}

/// The current time as SQLite writes it in every timestamp column (UTC, RFC 3339).
pub const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_connection_commits_noticed() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("watch.db");
        let path = path.to_str().unwrap();
        let ours = Store::open(Some(path)).unwrap();
        let theirs = Store::open(Some(path)).unwrap();
        assert!(ours.shared.wal_header.is_some(), "a file database in WAL mode exposes its index header");

        let mut mark = CommitMark::default();
        assert!(!ours.others_committed(&mut mark).unwrap(), "the first call only sets the mark");
        assert!(!ours.others_committed(&mut mark).unwrap());

        ours.lock().execute("INSERT INTO agents VALUES ('a', 'intern', 'now')", []).unwrap();
        assert!(!ours.others_committed(&mut mark).unwrap(), "a commit of our own connection");

        theirs.lock().execute("INSERT INTO agents VALUES ('b', 'intern', 'now')", []).unwrap();
        assert!(ours.others_committed(&mut mark).unwrap(), "a commit of another connection");
        assert!(!ours.others_committed(&mut mark).unwrap(), "seen once");
    }
}
