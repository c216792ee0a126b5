//! Skill images: one per distinct lock, built with the network off from
//! wheels verified on the host, tagged by a digest of what went into them.

pub mod catalog;
mod context;

pub use context::validate_extra_steps;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex, OnceLock};

use bollard::errors::Error as BollardError;
use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::{body_full, Docker};
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::docker::{engine_error, ensure_image};
use crate::error::{Error, Result};
use crate::resolve::Lock;

/// The version of the Dockerfile recipe; part of every tag, so a change to
/// the recipe never serves an image built by an older one.
pub const RECIPE_VERSION: &str = "2";

/// The repository name of every skill image.
pub const IMAGE_REPOSITORY: &str = "skillguard-env";

/// Label keys written on every skill image.
pub const LABEL_MANAGED: &str = "skillguard.managed";
pub const LABEL_LOCK_DIGEST: &str = "skillguard.lock-digest";
pub const LABEL_BASE_IMAGE: &str = "skillguard.base-image";
pub const LABEL_ADVISORY_DIGEST: &str = "skillguard.advisory-digest";
pub const LABEL_VERSION: &str = "skillguard.version";

/// How many lines of build log a result keeps.
const KEPT_LOG_LINES: usize = 400;

/// An image ready to run.
#[derive(Clone, Debug, Serialize)]
pub struct BuiltImage {
    pub tag: String,
    /// True when an existing image for the same lock and base served.
    pub reused: bool,
    pub build_logs: Vec<String>,
}

/// Computes the tag for a lock on a base image: a digest of the lock digest,
/// the base image id, the recipe version and any extra build steps.
pub fn image_tag(lock: &Lock, base_image_id: &str, extra_steps: &[String]) -> String {
    let mut hasher = Sha256::new();
    for part in [lock.digest.as_str(), base_image_id, RECIPE_VERSION].into_iter().chain(extra_steps.iter().map(String::as_str)) {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    format!("{IMAGE_REPOSITORY}:{}", &hex::encode(hasher.finalize())[..32])
}

/// Returns the lock of one tag in this process, so concurrent installs of one lock build once.
fn build_lock(tag: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<StdMutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(tag.to_string()).or_default().clone()
}

/// Takes an exclusive file lock for one tag, so installs of one lock in
/// several processes of this host build once. The lock ends when the file closes.
async fn lock_across_processes(tag: &str) -> Result<std::fs::File> {
    let directory = std::env::temp_dir().join("skillguard-build-locks");
    let path = directory.join(format!("{}.lock", tag.replace([':', '/'], "_")));
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&directory).map_err(|error| Error::io("failed to create directory", &directory, error))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| Error::io("failed to open build lock", &path, error))?;
        file.lock().map_err(|error| Error::io("failed to lock", &path, error))?;
        Ok(file)
    })
    .await
    .map_err(|error| Error::Build(format!("build lock task failed: {error}")))?
}

/// Builds (or reuses) the image for `lock` on `base_image`. `wheels` are the
/// verified wheel files, in lock order; `advisory_digest` is recorded as a label.
pub async fn build(
    docker: &Docker,
    lock: &Lock,
    wheels: &[PathBuf],
    base_image: &str,
    advisory_digest: Option<&str>,
    extra_steps: &[String],
    on_log: &(dyn Fn(&str) + Send + Sync),
) -> Result<BuiltImage> {
    context::validate_extra_steps(extra_steps)?;
    let base = ensure_image(docker, base_image).await?;
    let base_id = base
        .id
        .ok_or_else(|| Error::Docker(format!("the engine returned no id for image {base_image}")))?;
    let tag = image_tag(lock, &base_id, extra_steps);

    let guard = build_lock(&tag);
    let _building = guard.lock().await;
    let _building_across_processes = lock_across_processes(&tag).await?;
    if image_exists(docker, &tag).await? {
        log::debug!("image {tag} exists for lock {}; reusing it", lock.digest);
        return Ok(BuiltImage { tag, reused: true, build_logs: Vec::new() });
    }

    let context = context::build_context(lock, wheels, &base_id, extra_steps)?;
    let mut labels = HashMap::from([
        (LABEL_MANAGED.to_string(), "1".to_string()),
        (LABEL_LOCK_DIGEST.to_string(), lock.digest.clone()),
        (LABEL_BASE_IMAGE.to_string(), format!("{base_image}@{base_id}")),
        (LABEL_VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string()),
    ]);
    if let Some(digest) = advisory_digest {
        labels.insert(LABEL_ADVISORY_DIGEST.to_string(), digest.to_string());
    }
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(&tag)
        .rm(true)
        .forcerm(true)
        .networkmode("none")
        .labels(&labels)
        .build();

    log::info!("building image {tag} for lock {} on {base_image}", lock.digest);
    let mut logs: VecDeque<String> = VecDeque::new();
    let mut stream = docker.build_image(options, None, Some(body_full(context.into())));
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(BollardError::DockerStreamError { error }) => return Err(build_failed(&tag, &logs, &error)),
            Err(error) => return Err(engine_error(&format!("failed to build image {tag}"), error)),
        };
        if let Some(text) = info.stream.as_deref() {
            for line in text.lines().filter(|line| !line.trim().is_empty()) {
                on_log(line);
                logs.push_back(line.to_string());
                if logs.len() > KEPT_LOG_LINES {
                    logs.pop_front();
                }
            }
        }
        if let Some(detail) = info.error_detail {
            let message = detail.message.unwrap_or_else(|| "unknown build error".into());
            return Err(build_failed(&tag, &logs, &message));
        }
    }

    if !image_exists(docker, &tag).await? {
        return Err(build_failed(&tag, &logs, "the build ended without producing the image"));
    }
    log::info!("built image {tag}");
    Ok(BuiltImage { tag, reused: false, build_logs: logs.into() })
}

/// Tells whether an image exists locally.
pub async fn image_exists(docker: &Docker, reference: &str) -> Result<bool> {
    match docker.inspect_image(reference).await {
        Ok(_) => Ok(true),
        Err(BollardError::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
        Err(error) => Err(engine_error(&format!("failed to inspect image {reference}"), error)),
    }
}

fn build_failed(tag: &str, logs: &VecDeque<String>, message: &str) -> Error {
    let tail: Vec<&str> = logs.iter().rev().take(20).rev().map(String::as_str).collect();
    Error::Build(format!(
        "build of image {tag} failed: {}\n--- last lines of the build log ---\n{}",
        message.trim(),
        tail.join("\n")
    ))
}
