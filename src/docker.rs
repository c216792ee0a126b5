//! The connection to the Docker engine and the image checks shared by builds and runs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::models::ImageInspect;
use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use crate::error::{Error, Result};

/// Connects to the engine named by `DOCKER_HOST` (default: the local unix
/// socket), agrees on an API version both sides speak, and checks that it
/// responds. The negotiated client is reused for later calls of this process
/// with the same `DOCKER_HOST`, so a run costs no extra version or ping request.
pub async fn connect() -> Result<Docker> {
    static CLIENTS: Mutex<Option<HashMap<(u32, String), Docker>>> = Mutex::new(None);
    let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    // The pid is part of the key because a forked child gets a new runtime,
    // and a client's connection pool belongs to the runtime that made it.
    let key = (std::process::id(), host.clone());
    if let Some(docker) = CLIENTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get_or_insert_with(HashMap::new).get(&key) {
        return Ok(docker.clone());
    }

    let unavailable = |error: BollardError| {
        Error::DockerUnavailable(format!(
            "the Docker engine at {host} is not available: {error}\nhint: start dockerd (scripts/docker-up.sh does it on Debian) or set DOCKER_HOST"
        ))
    };
    // Bollard's client timeout bounds each request; run deadlines are enforced separately.
    let docker = Docker::connect_with_defaults()
        .map_err(unavailable)?
        .with_timeout(Duration::from_secs(3600));
    let docker = docker.negotiate_version().await.map_err(unavailable)?;
    docker.ping().await.map_err(unavailable)?;
    CLIENTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(key, docker.clone());
    Ok(docker)
}

/// Checks that an image reference is a plain `name[:tag][@digest]` or an
/// image id, so it can never smuggle options or Dockerfile lines.
pub fn validate_image_reference(reference: &str) -> Result<()> {
    let valid_characters = reference
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-' | '/' | ':' | '@'));
    let first_is_alphanumeric = reference.chars().next().is_some_and(|first| first.is_ascii_alphanumeric());
    if reference.is_empty() || reference.len() > 255 || !valid_characters || !first_is_alphanumeric {
        return Err(Error::InvalidArgument(format!(
            "invalid image reference {reference:?}: expected NAME[:TAG][@DIGEST] or an image id, such as python:3.11-slim"
        )));
    }
    Ok(())
}

/// Returns the image, pulling it when it is not present locally.
pub async fn ensure_image(docker: &Docker, reference: &str) -> Result<ImageInspect> {
    validate_image_reference(reference)?;
    match docker.inspect_image(reference).await {
        Ok(image) => return Ok(image),
        Err(BollardError::DockerResponseServerError { status_code: 404, .. }) => {}
        Err(error) => return Err(engine_error(&format!("failed to inspect image {reference}"), error)),
    }

    log::info!("image {reference} is not present locally; pulling it");
    let options = CreateImageOptionsBuilder::default().from_image(reference).build();
    let mut pull = docker.create_image(Some(options), None, None);
    let mut pull_error = None;
    while let Some(progress) = pull.next().await {
        if let Err(error) = progress {
            pull_error = Some(error.to_string());
            break;
        }
    }
    match docker.inspect_image(reference).await {
        Ok(image) => Ok(image),
        Err(_) => Err(Error::ImageNotFound(format!(
            "image {reference} is not present locally and could not be pulled{}\nhint: pull or build it first (scripts/base-image.sh makes a Debian base image with python3)",
            pull_error.map(|error| format!(": {error}")).unwrap_or_default()
        ))),
    }
}

/// Maps an engine error: a lost connection is `DockerUnavailable`, anything else a `Docker` error.
pub fn engine_error(action: &str, error: BollardError) -> Error {
    match error {
        BollardError::HyperResponseError { .. }
        | BollardError::IOError { .. }
        | BollardError::SocketNotFoundError(_)
        | BollardError::RequestTimeoutError => Error::DockerUnavailable(format!(
            "{action}: the Docker engine is not available: {error}\nhint: check that dockerd is running and DOCKER_HOST is right"
        )),
        other => Error::Docker(format!("{action}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_reject_options_and_newlines() {
        for valid in ["python:3.11-slim", "skillguard-base:bookworm", "registry.example:5000/team/img@sha256:abc", "sha256:0123abcd"] {
            assert!(validate_image_reference(valid).is_ok(), "{valid}");
        }
        for invalid in ["", "-v /:/host", "python:3.11\nRUN curl", "python 3", "--privileged", "img;rm"] {
            let message = validate_image_reference(invalid).unwrap_err().to_string();
            assert!(message.contains("invalid image reference"), "{invalid}: {message}");
        }
    }
}
