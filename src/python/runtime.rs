//! The tokio runtime behind every blocking call, and the loop that waits on
//! it with the GIL released while still handling Ctrl-C.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;
use tokio::sync::watch;

use super::errors::{internal, to_py};
use crate::error::Result;
use crate::sandbox::CancelSignal;

/// How often a waiting call checks for signals such as Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Returns the one runtime of this process. It is created on first use and again after a
/// `fork()`, because a tokio runtime does not survive one.
pub fn runtime() -> PyResult<Arc<Runtime>> {
    static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);
    let mut slot = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let pid = std::process::id();
    if let Some((owner, runtime)) = slot.as_ref() {
        if *owner == pid {
            return Ok(runtime.clone());
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("skillguard-worker")
        .enable_all()
        .build()
        .map_err(|error| internal(format!("failed to start the async runtime: {error}")))?;
    let runtime = Arc::new(runtime);
    *slot = Some((pid, runtime.clone()));
    Ok(runtime)
}

/// Runs a core future to completion with the GIL released. On Ctrl-C the
/// future's cancel signal is raised and it gets `grace` to clean up (a sandbox
/// run removes its container) before it is dropped and `KeyboardInterrupt` raised.
pub fn block_on<T, F>(py: Python<'_>, grace: Duration, make: impl FnOnce(CancelSignal) -> F) -> PyResult<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let runtime = runtime()?;
    let (cancel, cancelled) = watch::channel(false);
    let mut task = runtime.spawn(make(cancelled));
    loop {
        let finished = py.detach(|| runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK, &mut task).await }));
        match finished {
            Ok(Ok(result)) => return result.map_err(to_py),
            Ok(Err(join_error)) => return Err(internal(join_error.to_string())),
            Err(_still_running) => {
                if let Err(interrupt) = py.check_signals() {
                    let _ = cancel.send(true);
                    let _ = py.detach(|| runtime.block_on(async { tokio::time::timeout(grace, &mut task).await }));
                    task.abort();
                    return Err(interrupt);
                }
            }
        }
    }
}

/// Raises a run's cancel signal when dropped: asyncio drops the awaited
/// future when its task is cancelled, and the run then removes its container.
struct CancelOnDrop(watch::Sender<bool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

/// Starts a core future on the runtime and returns an asyncio awaitable of
/// its converted result. Cancelling the asyncio task raises the future's
/// cancel signal; the future itself runs on to its cleanup.
pub fn awaitable<'py, T, F>(
    py: Python<'py>,
    make: impl FnOnce(CancelSignal) -> F,
    convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let runtime = runtime()?;
    let (cancel, cancelled) = watch::channel(false);
    let task = runtime.spawn(make(cancelled));
    let guard = CancelOnDrop(cancel);
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let _guard = guard;
        let result = match task.await {
            Ok(result) => result.map_err(to_py)?,
            Err(join_error) => return Err(internal(join_error.to_string())),
        };
        Python::attach(|py| convert(py, result))
    })
}
