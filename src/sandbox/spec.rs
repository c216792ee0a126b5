//! The one hardened container spec, and the limits a caller may tighten.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, ResourcesUlimits};

use crate::error::{Error, Result};

/// The label every sandbox container carries, so a sweep can find leftovers.
pub const MANAGED_LABEL: &str = "skillguard.sandbox";

/// The runner script, passed to `python3 -c`; it never contains skill code.
pub const RUNNER: &str = include_str!("runner.py");

const MIB: i64 = 1024 * 1024;

/// Limits of one run. [`Limits::new`] checks every value against its bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Wall-clock deadline over create, start, streaming and wait.
    pub timeout: Duration,
    /// Memory in bytes; swap is set equal, so the container cannot swap.
    pub memory_bytes: i64,
    /// CPU share in units of 10^-9 CPUs.
    pub nano_cpus: i64,
    /// Maximum number of processes and threads.
    pub pids: i64,
    /// Bytes kept per output stream; more output ends the run.
    pub output_bytes: usize,
    /// An OCI runtime the engine offers (for example gVisor's `runsc`); `None` uses the engine's default.
    pub runtime: Option<String>,
}

/// Bounds of each limit: (minimum, default, maximum).
pub const TIMEOUT_SECONDS: (f64, f64, f64) = (0.1, 30.0, 3600.0);
pub const MEMORY_BYTES: (i64, i64, i64) = (16 * MIB, 256 * MIB, 8192 * MIB);
pub const CPUS: (f64, f64, f64) = (0.05, 0.5, 4.0);
pub const PIDS: (i64, i64, i64) = (8, 128, 1024);
pub const OUTPUT_BYTES: (usize, usize, usize) = (1024, 1024 * 1024, 64 * 1024 * 1024);

const TMP_SIZE: &str = "64m";
const SHM_BYTES: i64 = 16 * MIB;
const OPEN_FILES: i64 = 256;
const FILE_SIZE_BYTES: i64 = 64 * MIB;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs_f64(TIMEOUT_SECONDS.1),
            memory_bytes: MEMORY_BYTES.1,
            nano_cpus: (CPUS.1 * 1e9) as i64,
            pids: PIDS.1,
            output_bytes: OUTPUT_BYTES.1,
            runtime: None,
        }
    }
}

impl Limits {
    /// Builds limits from optional caller values; `None` keeps the default.
    pub fn new(
        timeout_seconds: Option<f64>,
        memory: Option<&str>,
        cpus: Option<f64>,
        pids: Option<i64>,
        output_bytes: Option<usize>,
    ) -> Result<Self> {
        let mut limits = Limits::default();
        if let Some(seconds) = timeout_seconds {
            check_range("timeout", seconds, TIMEOUT_SECONDS.0, TIMEOUT_SECONDS.2, "seconds")?;
            limits.timeout = Duration::from_secs_f64(seconds);
        }
        if let Some(memory) = memory {
            let bytes = parse_memory(memory)?;
            if bytes < MEMORY_BYTES.0 || bytes > MEMORY_BYTES.2 {
                return Err(Error::InvalidArgument(format!(
                    "memory {memory:?} is out of bounds: expected between 16m and 8g"
                )));
            }
            limits.memory_bytes = bytes;
        }
        if let Some(cpus) = cpus {
            check_range("cpus", cpus, CPUS.0, CPUS.2, "CPUs")?;
            limits.nano_cpus = (cpus * 1e9) as i64;
        }
        if let Some(pids) = pids {
            check_range("pids", pids as f64, PIDS.0 as f64, PIDS.2 as f64, "processes")?;
            limits.pids = pids;
        }
        if let Some(bytes) = output_bytes {
            check_range("output limit", bytes as f64, OUTPUT_BYTES.0 as f64, OUTPUT_BYTES.2 as f64, "bytes")?;
            limits.output_bytes = bytes;
        }
        Ok(limits)
    }
}

impl Limits {
    /// Selects an OCI runtime by name; whether the engine offers it is checked at run time.
    pub fn with_runtime(mut self, runtime: Option<&str>) -> Result<Self> {
        if let Some(name) = runtime {
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|character| character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.'));
            if !valid {
                return Err(Error::InvalidArgument(format!(
                    "invalid runtime name {name:?}: expected letters, digits, '-', '_' or '.', such as runsc"
                )));
            }
        }
        self.runtime = runtime.map(str::to_string);
        Ok(self)
    }
}

fn check_range(name: &str, value: f64, minimum: f64, maximum: f64, unit: &str) -> Result<()> {
    if !value.is_finite() || value < minimum || value > maximum {
        return Err(Error::InvalidArgument(format!(
            "{name} {value} is out of bounds: expected between {minimum} and {maximum} {unit}"
        )));
    }
    Ok(())
}

/// Parses a Docker-style memory size: bytes, or a number with `k`, `m` or `g` (powers of 1024).
pub fn parse_memory(text: &str) -> Result<i64> {
    let trimmed = text.trim().to_ascii_lowercase();
    let trimmed = trimmed.strip_suffix('b').unwrap_or(&trimmed);
    let (digits, multiplier) = match trimmed.chars().last() {
        Some('k') => (&trimmed[..trimmed.len() - 1], 1024),
        Some('m') => (&trimmed[..trimmed.len() - 1], MIB),
        Some('g') => (&trimmed[..trimmed.len() - 1], 1024 * MIB),
        _ => (trimmed, 1),
    };
    digits
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite() && *value > 0.0)
        .map(|value| (value * multiplier as f64) as i64)
        .ok_or_else(|| Error::InvalidArgument(format!("invalid memory size {text:?}: expected a number with k, m or g, such as 256m")))
}

/// Builds the container spec every sandbox run uses. Only the image, the
/// limits and the labels vary; nothing a caller passes can loosen the rest.
pub fn hardened_container(image: &str, limits: &Limits, labels: HashMap<String, String>) -> ContainerCreateBody {
    let host_config = HostConfig {
        network_mode: Some("none".into()),
        readonly_rootfs: Some(true),
        tmpfs: Some(HashMap::from([(
            "/tmp".to_string(),
            format!("rw,noexec,nosuid,nodev,size={TMP_SIZE}"),
        )])),
        shm_size: Some(SHM_BYTES),
        cap_drop: Some(vec!["ALL".into()]),
        security_opt: Some(vec!["no-new-privileges:true".into()]),
        privileged: Some(false),
        pids_limit: Some(limits.pids),
        memory: Some(limits.memory_bytes),
        memory_swap: Some(limits.memory_bytes),
        nano_cpus: Some(limits.nano_cpus),
        ulimits: Some(vec![
            ResourcesUlimits { name: Some("nofile".into()), soft: Some(OPEN_FILES), hard: Some(OPEN_FILES) },
            ResourcesUlimits { name: Some("fsize".into()), soft: Some(FILE_SIZE_BYTES), hard: Some(FILE_SIZE_BYTES) },
        ]),
        // The engine keeps no copy of the output, so a flood cannot fill its disk.
        log_config: Some(HostConfigLogConfig { typ: Some("none".into()), config: None }),
        runtime: limits.runtime.clone(),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(image.to_string()),
        user: Some("1000:1000".into()),
        working_dir: Some("/tmp".into()),
        env: Some(vec![
            "HOME=/tmp".into(),
            "PYTHONDONTWRITEBYTECODE=1".into(),
            "PYTHONUNBUFFERED=1".into(),
            "PYTHONIOENCODING=utf-8".into(),
        ]),
        entrypoint: Some(vec![]),
        cmd: Some(vec!["python3".into(), "-I".into(), "-c".into(), RUNNER.into()]),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(true),
        network_disabled: Some(true),
        labels: Some(labels),
        host_config: Some(host_config),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardened_spec_snapshot() {
        let spec = hardened_container("skillguard-env:abc", &Limits::default(), HashMap::from([(MANAGED_LABEL.to_string(), "1".to_string())]));
        let mut value = serde_json::to_value(&spec).unwrap();
        // The runner source is checked separately; the snapshot shows the settings.
        value["Cmd"][3] = serde_json::Value::String("<runner>".into());
        let expected = serde_json::json!({
            "Image": "skillguard-env:abc",
            "User": "1000:1000",
            "WorkingDir": "/tmp",
            "Env": ["HOME=/tmp", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "PYTHONIOENCODING=utf-8"],
            "Entrypoint": [],
            "Cmd": ["python3", "-I", "-c", "<runner>"],
            "AttachStdin": true,
            "AttachStdout": true,
            "AttachStderr": true,
            "OpenStdin": true,
            "StdinOnce": true,
            "NetworkDisabled": true,
            "Labels": {"skillguard.sandbox": "1"},
            "HostConfig": {
                "NetworkMode": "none",
                "ReadonlyRootfs": true,
                "Tmpfs": {"/tmp": "rw,noexec,nosuid,nodev,size=64m"},
                "ShmSize": 16777216,
                "CapDrop": ["ALL"],
                "SecurityOpt": ["no-new-privileges:true"],
                "Privileged": false,
                "PidsLimit": 128,
                "Memory": 268435456,
                "MemorySwap": 268435456,
                "NanoCpus": 500000000,
                "Ulimits": [
                    {"Name": "nofile", "Soft": 256, "Hard": 256},
                    {"Name": "fsize", "Soft": 67108864, "Hard": 67108864}
                ],
                "LogConfig": {"Type": "none"}
            }
        });
        assert_eq!(value, expected, "{}", serde_json::to_string_pretty(&value).unwrap());
    }

    #[test]
    fn limits_outside_bounds_are_rejected() {
        assert!(Limits::new(Some(0.0), None, None, None, None).is_err());
        assert!(Limits::new(Some(f64::NAN), None, None, None, None).is_err());
        assert!(Limits::new(None, Some("64g"), None, None, None).is_err());
        assert!(Limits::new(None, Some("lots"), None, None, None).is_err());
        assert!(Limits::new(None, None, Some(16.0), None, None).is_err());
        assert!(Limits::new(None, None, None, Some(100_000), None).is_err());
        let limits = Limits::new(Some(5.0), Some("128m"), Some(0.25), Some(64), Some(4096)).unwrap();
        assert_eq!(limits.memory_bytes, 128 * MIB);
        assert_eq!(limits.nano_cpus, 250_000_000);
    }

    #[test]
    fn memory_sizes_parse_like_docker() {
        assert_eq!(parse_memory("256m").unwrap(), 256 * MIB);
        assert_eq!(parse_memory("1G").unwrap(), 1024 * MIB);
        assert_eq!(parse_memory("512kb").unwrap(), 512 * 1024);
        assert_eq!(parse_memory("1048576").unwrap(), MIB);
    }
}
