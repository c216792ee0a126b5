//! Warm start: containers started ahead of time with the runner waiting for
//! its job, so start-up leaves the critical path. Each container serves
//! exactly one job and is then removed; none is ever reused between runs.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bollard::Docker;

use super::{ensure_runtime, remove_container, start_container, Limits, Started};
use crate::docker::ensure_image;
use crate::error::Result;

/// The largest pool a caller may ask for.
pub const MAX_POOL_SIZE: usize = 16;

/// Idle started containers of one image and one set of container limits.
pub struct WarmPool {
    docker: Docker,
    image: String,
    limits: Limits,
    size: usize,
    idle: Mutex<VecDeque<Started>>,
    closed: AtomicBool,
    /// Refills and removals running in the background, awaited by `close`.
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl WarmPool {
    /// Checks the image and runtime, then fills the pool with `size` containers.
    pub async fn start(docker: Docker, image: String, limits: Limits, size: usize) -> Result<Arc<Self>> {
        ensure_image(&docker, &image).await?;
        if let Some(runtime) = &limits.runtime {
            ensure_runtime(&docker, runtime).await?;
        }
        let pool = Arc::new(WarmPool {
            docker,
            image,
            limits,
            size: size.min(MAX_POOL_SIZE),
            idle: Mutex::new(VecDeque::new()),
            closed: AtomicBool::new(false),
            background: Mutex::new(Vec::new()),
        });
        for _ in 0..pool.size {
            pool.clone().add_one().await?;
        }
        Ok(pool)
    }

    /// Tells whether runs with `image` and `limits` can use this pool: the
    /// container-level limits must match; the deadline and output cap are the host's.
    pub fn serves(&self, image: &str, limits: &Limits) -> bool {
        self.image == image
            && self.limits.memory_bytes == limits.memory_bytes
            && self.limits.nano_cpus == limits.nano_cpus
            && self.limits.pids == limits.pids
            && self.limits.runtime == limits.runtime
    }

    /// Takes an idle container, if any, and starts a replacement in the background.
    pub fn take(self: &Arc<Self>) -> Option<Started> {
        let taken = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop_front();
        if taken.is_some() && !self.closed.load(Ordering::SeqCst) {
            let pool = self.clone();
            self.track(tokio::spawn(async move {
                let image = pool.image.clone();
                if let Err(error) = pool.add_one().await {
                    log::warn!("failed to start a warm container of {image}: {error}");
                }
            }));
        }
        taken
    }

    /// Removes a container that served its job, in the background.
    pub fn retire(&self, id: String) {
        let docker = self.docker.clone();
        self.track(tokio::spawn(async move { remove_container(&docker, &id).await }));
    }

    fn track(&self, task: tokio::task::JoinHandle<()>) {
        let mut background = self.background.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        background.retain(|task| !task.is_finished());
        background.push(task);
    }

    async fn add_one(self: Arc<Self>) -> Result<()> {
        let started = start_container(&self.docker, &self.image, &self.limits).await?;
        if self.closed.load(Ordering::SeqCst) {
            let Started { id, attached } = started;
            drop(attached);
            remove_container(&self.docker, &id).await;
            return Ok(());
        }
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push_back(started);
        Ok(())
    }

    /// Removes every idle container and waits for background refills and
    /// removals, so no container of the pool is left when it returns.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let background: Vec<_> = self.background.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).drain(..).collect();
        for task in background {
            let _ = task.await;
        }
        let idle: Vec<Started> = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).drain(..).collect();
        for Started { id, attached } in idle {
            drop(attached);
            remove_container(&self.docker, &id).await;
        }
    }
}
