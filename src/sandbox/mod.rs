//! Running skill code in a locked-down container and reporting how it ended.

mod output;
pub mod pool;
pub mod spec;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bollard::container::{AttachContainerResults, LogOutput};
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use rand::RngCore;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use crate::docker::{engine_error, ensure_image};
use crate::error::{Error, Result};

pub use spec::Limits;
use output::{CappedBuffer, ResultSplitter, StatusStream};
use spec::{hardened_container, MANAGED_LABEL};

/// The way a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Exit code 0.
    Ok,
    /// A non-zero exit code: the code raised or exited with an error.
    Error,
    /// The deadline passed and the container was killed.
    Timeout,
    /// The kernel killed the code for exceeding its memory limit.
    Oom,
    /// The code wrote more than the output limit and was stopped.
    OutputLimit,
    /// The code ended by a signal other than an out-of-memory kill.
    Killed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Error => "error",
            Verdict::Timeout => "timeout",
            Verdict::Oom => "oom",
            Verdict::OutputLimit => "output_limit",
            Verdict::Killed => "killed",
        }
    }
}

/// The structured result of one run.
#[derive(Clone, Debug, Serialize)]
pub struct ExecutionResult {
    pub stdout: String,
    pub stderr: String,
    /// The exit code from the engine's wait; `None` when the run was killed at its deadline.
    pub exit_code: Option<i64>,
    pub verdict: Verdict,
    pub duration_ms: u64,
    /// Whether output beyond the limit was dropped.
    pub truncated: bool,
    /// The JSON value of `result`, if the code defined one.
    pub value: Option<serde_json::Value>,
    pub image: String,
}

/// The largest `result` value kept, in bytes of JSON.
const RESULT_CAP: usize = 16 * 1024 * 1024;

/// A signal the caller flips to abandon a run (for example on Ctrl-C); the
/// container is still removed before the run returns.
pub type CancelSignal = watch::Receiver<bool>;

/// Runs `code` with `inputs` in a fresh hardened container of `image` and removes it afterwards.
pub async fn run(
    docker: &Docker,
    image: &str,
    code: &str,
    inputs: &serde_json::Value,
    limits: &Limits,
    cancel: Option<CancelSignal>,
) -> Result<ExecutionResult> {
    run_in(docker, image, code, inputs, limits, cancel, None).await
}

/// A container created, attached and started, its runner waiting for a job on stdin.
pub struct Started {
    pub id: String,
    attached: AttachContainerResults,
}

/// Creates, attaches and starts a hardened container of `image`. A container
/// that was created but failed to attach or start is removed.
pub async fn start_container(docker: &Docker, image: &str, limits: &Limits) -> Result<Started> {
    let labels = HashMap::from([
        (MANAGED_LABEL.to_string(), "1".to_string()),
        (OWNER_HOST_LABEL.to_string(), host_name()),
        (OWNER_PID_LABEL.to_string(), std::process::id().to_string()),
    ]);
    let spec = hardened_container(image, limits, labels);
    let id = docker
        .create_container(Some(CreateContainerOptionsBuilder::default().build()), spec)
        .await
        .map_err(|error| engine_error(&format!("failed to create a container of {image}"), error))?
        .id;
    log::debug!("created sandbox container {id} of {image}");

    let attach_options = AttachContainerOptionsBuilder::default()
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .stream(true)
        .build();
    let attached = match docker.attach_container(&id, Some(attach_options)).await {
        Ok(attached) => attached,
        Err(error) => {
            remove_container(docker, &id).await;
            return Err(engine_error(&format!("failed to attach to container {id}"), error));
        }
    };
    if let Err(error) = docker.start_container(&id, None).await {
        drop(attached);
        remove_container(docker, &id).await;
        return Err(engine_error(&format!("failed to start container {id}"), error));
    }
    Ok(Started { id, attached })
}

/// Runs a job in `warm`, a container started ahead of time, or else in a
/// new one. Either way the container serves this one job and is removed.
pub async fn run_in(
    docker: &Docker,
    image: &str,
    code: &str,
    inputs: &serde_json::Value,
    limits: &Limits,
    mut cancel: Option<CancelSignal>,
    warm: Option<(Started, Arc<pool::WarmPool>)>,
) -> Result<ExecutionResult> {
    if !inputs.is_object() {
        return Err(Error::InvalidArgument("inputs must be a JSON object (a dict)".into()));
    }
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(started + limits.timeout);

    let mut nonce = [0u8; 16];
    rand::rng().fill_bytes(&mut nonce);
    let marker = format!("\x1eskillguard-result-{}", hex::encode(nonce));
    rand::rng().fill_bytes(&mut nonce);
    let status_marker = format!("\x1eskillguard-status-{}", hex::encode(nonce));
    let job = serde_json::json!({ "code": code, "inputs": inputs, "marker": marker, "status_marker": status_marker });
    let job = serde_json::to_vec(&job).expect("JSON values serialise");
    let mut payload = format!("{}\n", job.len()).into_bytes();
    payload.extend_from_slice(&job);

    // The first run of a process removes containers left by crashed processes.
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        let docker = docker.clone();
        tokio::spawn(async move {
            match sweep_leftovers(&docker).await {
                Ok(0) => {}
                Ok(removed) => log::info!("removed {removed} sandbox container(s) left by exited processes"),
                Err(error) => log::warn!("failed to sweep leftover sandbox containers: {error}"),
            }
        });
    }

    let is_warm = warm.is_some();
    let (container, pool) = match warm {
        Some((container, pool)) => (container, Some(pool)),
        None => {
            ensure_image(docker, image).await?;
            if let Some(runtime) = &limits.runtime {
                ensure_runtime(docker, runtime).await?;
            }
            match tokio::time::timeout_at(deadline, start_container(docker, image, limits)).await {
                Ok(container) => (container?, None),
                Err(_) => return Ok(timed_out(image, started, CappedBuffer::new(0), CappedBuffer::new(0))),
            }
        }
    };
    let id = container.id.clone();

    let status_line = format!("\n{status_marker} ");
    let mut stdout = StatusStream::new(
        status_line.as_bytes(),
        ResultSplitter::new(format!("\n{marker}\n").as_bytes(), limits.output_bytes, RESULT_CAP),
    );
    let mut stderr = StatusStream::new(status_line.as_bytes(), CappedBuffer::new(limits.output_bytes));
    let cancelled = async {
        match cancel.as_mut() {
            Some(receiver) => {
                while !*receiver.borrow() {
                    if receiver.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
            None => std::future::pending::<()>().await,
        }
    };

    let outcome = tokio::select! {
        driven = tokio::time::timeout_at(deadline, drive(docker, container, &payload, &mut stdout, &mut stderr, is_warm)) => Some(driven),
        _ = cancelled => None,
    };

    // Every path ends here, so the container is removed whatever happened
    // above. A warm run removes it in the background, off the critical path.
    match &pool {
        Some(pool) => pool.retire(id.clone()),
        None => remove_container(docker, &id).await,
    }

    let duration_ms = started.elapsed().as_millis() as u64;
    let ended = match outcome {
        None => return Err(Error::Interrupted),
        Some(Err(_)) => {
            stdout.finish();
            stderr.finish();
            return Ok(timed_out(image, started, stdout.inner.output, stderr.inner));
        }
        Some(Ok(result)) => result?,
    };
    stdout.finish();
    stderr.finish();
    let (stdout, stderr) = (stdout.inner, stderr.inner);

    let truncated = stdout.output.truncated() || stderr.truncated();
    let verdict = if ended.output_limit {
        Verdict::OutputLimit
    } else if ended.oom_killed {
        Verdict::Oom
    } else {
        match ended.exit_code {
            0 => Verdict::Ok,
            // 128 + N is how a shell and the engine report death by signal N.
            code if code > 128 => Verdict::Killed,
            _ => Verdict::Error,
        }
    };
    let value = match stdout.result_bytes() {
        Some(bytes) if !bytes.is_empty() => serde_json::from_slice(bytes).ok(),
        _ => None,
    };
    Ok(ExecutionResult {
        stdout: String::from_utf8_lossy(&stdout.output.bytes).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.bytes).into_owned(),
        exit_code: Some(ended.exit_code),
        verdict,
        duration_ms,
        truncated,
        value,
        image: image.to_string(),
    })
}

/// Refuses a runtime the engine does not list, naming the ones it does.
async fn ensure_runtime(docker: &Docker, runtime: &str) -> Result<()> {
    let info = docker.info().await.map_err(|error| engine_error("failed to read the engine's runtimes", error))?;
    let mut offered: Vec<String> = info.runtimes.unwrap_or_default().into_keys().collect();
    offered.sort();
    if offered.iter().any(|name| name == runtime) {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "OCI runtime {runtime} is not available on the Docker engine; it offers: {}\nhint: install and register it with dockerd (for gVisor: runsc install), or run without a runtime",
        offered.join(", ")
    )))
}

struct Ended {
    exit_code: i64,
    oom_killed: bool,
    output_limit: bool,
}

/// Sends the job to a started container, streams its output and waits for
/// the exit code from the engine. With `trust_init_status` (warm runs), a
/// normal exit that the container's init reported on both streams (so both
/// were delivered in full) ends the run at once, and
/// the engine's teardown is left to the background removal; deaths by signal
/// still wait for the engine, because only its state records whether the kernel's
/// out-of-memory killer struck.
async fn drive(
    docker: &Docker,
    container: Started,
    payload: &[u8],
    stdout: &mut StatusStream<ResultSplitter>,
    stderr: &mut StatusStream<CappedBuffer>,
    trust_init_status: bool,
) -> Result<Ended> {
    let Started { id, mut attached } = container;
    let id = id.as_str();
    attached
        .input
        .write_all(payload)
        .await
        .map_err(|error| Error::Docker(format!("failed to send the job to container {id}: {error}")))?;
    let _ = attached.input.flush().await;
    // Closing stdin lets code that reads it see end of file. Engines that do
    // not support half-closing are fine: the runner reads an exact byte count.
    let _ = attached.input.shutdown().await;

    let mut output_limit = false;
    let mut reported = None;
    while let Some(frame) = attached.output.next().await {
        match frame {
            Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => stdout.push(&message),
            Ok(LogOutput::StdErr { message }) => stderr.push(&message),
            Ok(LogOutput::StdIn { .. }) => {}
            Err(error) => {
                log::debug!("output stream of container {id} ended: {error}");
                break;
            }
        }
        if stdout.inner.truncated() || stderr.inner.truncated() {
            output_limit = true;
            break;
        }
        if trust_init_status {
            let both = (stdout.reported_exit_code(), stderr.reported_exit_code());
            if let (Some(code), Some(same)) = both {
                if code == same && code <= 128 {
                    reported = Some(code);
                    break;
                }
            }
        }
    }
    if let Some(exit_code) = reported {
        return Ok(Ended { exit_code, oom_killed: false, output_limit: false });
    }
    // Close the attach connection first: an engine whose copy of the output
    // is blocked on a reader that stopped reading would not finish the kill.
    drop(attached);
    if output_limit {
        kill_container(docker, id).await;
    }

    let wait_options = WaitContainerOptionsBuilder::default().condition("not-running").build();
    let mut wait = docker.wait_container(id, Some(wait_options));
    let exit_code = match wait.next().await {
        Some(Ok(response)) => response.status_code,
        Some(Err(BollardError::DockerContainerWaitError { code, .. })) => code,
        Some(Err(error)) => return Err(engine_error(&format!("failed to wait for container {id}"), error)),
        None => return Err(Error::Docker(format!("the engine ended the wait for container {id} without an exit code"))),
    };

    let state = docker
        .inspect_container(id, None)
        .await
        .map_err(|error| engine_error(&format!("failed to inspect container {id}"), error))?
        .state;
    let oom_killed = state.and_then(|state| state.oom_killed).unwrap_or(false);
    Ok(Ended {
        exit_code,
        oom_killed,
        output_limit,
    })
}

fn timed_out(image: &str, started: Instant, stdout: CappedBuffer, stderr: CappedBuffer) -> ExecutionResult {
    ExecutionResult {
        truncated: stdout.truncated() || stderr.truncated(),
        stdout: String::from_utf8_lossy(&stdout.bytes).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.bytes).into_owned(),
        exit_code: None,
        verdict: Verdict::Timeout,
        duration_ms: started.elapsed().as_millis() as u64,
        value: None,
        image: image.to_string(),
    }
}

async fn kill_container(docker: &Docker, id: &str) {
    let options = KillContainerOptionsBuilder::default().signal("KILL").build();
    if let Err(error) = docker.kill_container(id, Some(options)).await {
        log::debug!("kill of container {id} failed (it may have exited): {error}");
    }
}

/// Force-removes a container; a failure is logged, never raised over the run's own outcome.
async fn remove_container(docker: &Docker, id: &str) {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => log::debug!("removed sandbox container {id}"),
        Err(BollardError::DockerResponseServerError { status_code: 404, .. }) => {}
        Err(error) => log::warn!("failed to remove sandbox container {id}: {error}"),
    }
}

/// Labels naming the host and process that created a sandbox container.
const OWNER_HOST_LABEL: &str = "skillguard.host";
const OWNER_PID_LABEL: &str = "skillguard.pid";

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}

/// Removes sandbox containers left by processes of this host that no longer
/// exist (for example after a crash), and returns how many were removed.
/// Containers made from other hosts sharing the engine are left alone.
pub async fn sweep_leftovers(docker: &Docker) -> Result<usize> {
    let filters = HashMap::from([("label".to_string(), vec![MANAGED_LABEL.to_string()])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|error| engine_error("failed to list sandbox containers", error))?;
    let mut removed = 0;
    for container in containers {
        let labels = container.labels.clone().unwrap_or_default();
        if labels.get(OWNER_HOST_LABEL) != Some(&host_name()) {
            continue;
        }
        let owner_alive = labels
            .get(OWNER_PID_LABEL)
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists());
        if owner_alive {
            continue;
        }
        if let Some(id) = container.id {
            remove_container(docker, &id).await;
            removed += 1;
        }
    }
    Ok(removed)
}
