//! Noticing commits made through other connections cheaply enough to ask on
//! every governance check.
//!
//! In WAL mode SQLite keeps an index header in shared memory (the `-shm`
//! file) that every commit rewrites: a change counter, the last valid frame
//! and their checksums (SQLite's "WAL-index format" documentation). Reading
//! that header through the mapping SQLite already holds for our connection
//! costs a few nanoseconds and opens no file of our own, so SQLite's POSIX
//! locks on the file are never disturbed. When the header differs from the
//! one seen last, `PRAGMA data_version` shows whether the commit came from
//! another connection, because it does not change for commits of our own.

use std::ffi::c_void;
use std::ptr::{self, NonNull};

use rusqlite::{ffi, Connection};

/// The size SQLite maps the shared-memory file in.
const REGION_SIZE: i32 = 32 * 1024;
/// The first header copy from `iChange` (byte 8) to its end (byte 48), as 32-bit words.
const FIRST_WORD: usize = 2;
const WORDS: usize = 10;

/// The part of the WAL-index header a commit rewrites.
pub type HeaderWords = [u32; WORDS];

/// A view of the WAL-index header in the mapping of the connection it came from.
pub(super) struct WalHeader {
    base: NonNull<u32>,
}

// SAFETY: the pointer refers to shared memory that stays mapped while the
// connection is open (the `Store` drops the connection no earlier than this
// view), and it is only ever read with volatile loads.
unsafe impl Send for WalHeader {}
unsafe impl Sync for WalHeader {}

impl WalHeader {
    /// Finds region 0 of the shared memory of the connection's main database.
    /// `None` when the database is not in WAL mode or its VFS shares no memory.
    pub(super) fn locate(connection: &Connection) -> Option<Self> {
        // SAFETY: the handle is valid while `connection` is borrowed, and the
        // caller has the connection to itself, so no other call runs on it.
        // `xShmMap` with `bExtend = 0` returns the region already mapped (or
        // null); it never grows the file.
        unsafe {
            let database = connection.handle();
            let mut file: *mut ffi::sqlite3_file = ptr::null_mut();
            let code = ffi::sqlite3_file_control(
                database,
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&mut file as *mut *mut ffi::sqlite3_file).cast::<c_void>(),
            );
            if code != ffi::SQLITE_OK || file.is_null() || (*file).pMethods.is_null() {
                return None;
            }
            let methods = &*(*file).pMethods;
            if methods.iVersion < 2 {
                return None;
            }
            let map = methods.xShmMap?;
            let mut region: *mut c_void = ptr::null_mut();
            if map(file, 0, REGION_SIZE, 0, &mut region) != ffi::SQLITE_OK {
                return None;
            }
            NonNull::new(region.cast::<u32>()).map(|base| WalHeader { base })
        }
    }

    /// Reads the header words. A read that overlaps a commit may see a mix of
    /// old and new words; that only ever looks like a change.
    pub(super) fn read(&self) -> HeaderWords {
        let mut words = [0; WORDS];
        for (index, word) in words.iter_mut().enumerate() {
            // SAFETY: region 0 is 32 KiB, far larger than the header words read here.
            *word = unsafe { ptr::read_volatile(self.base.as_ptr().add(FIRST_WORD + index)) };
        }
        words
    }
}
