//! Installing a skill's packages: scan, download and verify, build, record.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bollard::Docker;
use serde::Serialize;
use serde_json::json;

use crate::advisory::Vulnerability;
use crate::audit::{self, AuditEvent};
use crate::docker::ensure_image;
use crate::error::{Error, Result};
use crate::image::{self, catalog, BuiltImage};
use crate::requirement::parse_requirements;
use crate::index::download;
use crate::resolve::{Lock, TargetEnv};
use crate::sandbox::{self, ExecutionResult, Limits, Verdict};
use crate::scan::{Denial, Scanner};
use crate::store::Store;

/// The base image used when the caller names none and `SKILLGUARD_BASE_IMAGE` is unset.
pub const DEFAULT_BASE_IMAGE: &str = "python:3.11-slim";

/// The outcome of one install. A denial or a vulnerable set is a result with
/// `success = false`; infrastructure failures are errors instead.
#[derive(Clone, Debug, Serialize)]
pub struct InstallResult {
    pub success: bool,
    pub skill_id: String,
    pub image_tag: Option<String>,
    pub lock: Option<Lock>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub denials: Vec<Denial>,
    pub conflicts: Vec<String>,
    pub build_logs: Vec<String>,
    pub error: Option<String>,
    /// True when an existing image for the same lock served.
    pub reused: bool,
    /// Wheel files fetched from the index (not served by the cache) by this install.
    pub downloaded: Vec<String>,
}

/// The installer: a scanner, the store and where wheels and images come from.
#[derive(Clone)]
pub struct Installer {
    pub scanner: Scanner,
    pub store: Store,
    pub base_image: String,
    pub wheel_cache: PathBuf,
    /// Shell commands run in the build after the install, with the network
    /// off; part of the image tag. Meant for checks and diagnostics.
    pub extra_build_steps: Vec<String>,
}

/// Returns the default wheel cache: `$SKILLGUARD_CACHE_DIR/wheels`, else `<cache dir>/skillguard/wheels`.
pub fn default_wheel_cache() -> PathBuf {
    if let Ok(directory) = std::env::var("SKILLGUARD_CACHE_DIR") {
        if !directory.is_empty() {
            return PathBuf::from(directory).join("wheels");
        }
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("skillguard")
        .join("wheels")
}

/// Returns the default base image: `$SKILLGUARD_BASE_IMAGE`, else `python:3.11-slim`.
pub fn default_base_image() -> String {
    std::env::var("SKILLGUARD_BASE_IMAGE")
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_BASE_IMAGE.to_string())
}

impl Installer {
    /// Governs, scans, downloads and builds the image for a skill's requirements.
    pub async fn install(
        &self,
        docker: &Docker,
        skill_id: &str,
        requirements: &[String],
        agent_id: &str,
        scan_for_vulnerabilities: bool,
        on_log: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<InstallResult> {
        validate_skill_id(skill_id)?;
        parse_requirements(requirements)?;
        let status = self.scanner.advisories.require_usable(self.scanner.max_advisory_age_days)?;
        let mut result = InstallResult {
            success: false,
            skill_id: skill_id.to_string(),
            image_tag: None,
            lock: None,
            vulnerabilities: Vec::new(),
            denials: Vec::new(),
            conflicts: Vec::new(),
            build_logs: Vec::new(),
            error: None,
            reused: false,
            downloaded: Vec::new(),
        };

        on_log(&format!("reading the target environment of {}", self.base_image));
        let target = probe_target(docker, &self.base_image).await?;
        on_log(&format!("resolving {} requirement(s) for CPython {}", requirements.len(), target.python_full_version));
        let lock = match self.scanner.resolve(requirements, &target).await {
            Ok(lock) => lock,
            Err(Error::Resolution(message)) => {
                result.error = Some(message.clone());
                result.conflicts.push(message);
                self.audit_install(skill_id, agent_id, &result)?;
                return Ok(result);
            }
            Err(other) => return Err(other),
        };

        let mut report = self.scanner.evaluate(lock.clone(), Some(agent_id), Some(skill_id), status.clone())?;
        result.lock = Some(lock.clone());
        result.denials = std::mem::take(&mut report.denials);
        if !result.denials.is_empty() {
            let reasons: Vec<&str> = result.denials.iter().map(|denial| denial.chain.as_str()).collect();
            result.error = Some(format!("governance denied the install: {}", reasons.join(" | ")));
            self.audit_install(skill_id, agent_id, &result)?;
            return Ok(result);
        }
        result.vulnerabilities = std::mem::take(&mut report.vulnerabilities);
        let denying: Vec<&Vulnerability> = result.vulnerabilities.iter().filter(|vulnerability| vulnerability.denies).collect();
        if scan_for_vulnerabilities && !denying.is_empty() {
            let found: Vec<String> = denying
                .iter()
                .map(|vulnerability| format!("{} {} ({})", vulnerability.package, vulnerability.version, vulnerability.id))
                .collect();
            result.error = Some(format!("known vulnerabilities in the resolved set: {}", found.join(", ")));
            self.audit_install(skill_id, agent_id, &result)?;
            return Ok(result);
        }

        on_log(&format!("downloading and verifying {} wheel(s)", lock.packages.len()));
        let (wheels, downloaded) = self.download(&lock).await?;
        result.downloaded = downloaded;

        let built: BuiltImage = image::build(
            docker,
            &lock,
            &wheels,
            &self.base_image,
            status.digest.as_deref(),
            &self.extra_build_steps,
            on_log,
        )
        .await?;
        on_log(&if built.reused {
            format!("reusing image {}", built.tag)
        } else {
            format!("built image {}", built.tag)
        });
        catalog::record_skill_image(&self.store, skill_id, &built.tag, &lock)?;

        result.success = true;
        result.image_tag = Some(built.tag);
        result.reused = built.reused;
        result.build_logs = built.build_logs;
        self.audit_install(skill_id, agent_id, &result)?;
        Ok(result)
    }

    /// Downloads every locked wheel into the cache, verifying each sha256.
    async fn download(&self, lock: &Lock) -> Result<(Vec<PathBuf>, Vec<String>)> {
        let wheels = download::download_all(&self.scanner.index, &lock.packages, &self.wheel_cache, None).await?;
        let downloaded = wheels.iter().filter(|wheel| wheel.downloaded).map(|wheel| wheel.wheel.clone()).collect();
        Ok((wheels.into_iter().map(|wheel| wheel.path).collect(), downloaded))
    }

    fn audit_install(&self, skill_id: &str, agent_id: &str, result: &InstallResult) -> Result<()> {
        let connection = self.store.lock();
        audit::record(
            &connection,
            &AuditEvent {
                action: if result.success { "skill_installed" } else { "skill_install_refused" },
                agent_id: Some(agent_id),
                skill_id: Some(skill_id),
                detail: json!({
                    "image_tag": result.image_tag,
                    "lock_digest": result.lock.as_ref().map(|lock| lock.digest.clone()),
                    "reused": result.reused,
                    "error": result.error,
                }),
                ..Default::default()
            },
        )
    }

    /// Runs code in the skill's image and audits the outcome.
    pub async fn execute(
        &self,
        docker: &Docker,
        skill_id: &str,
        code: &str,
        inputs: &serde_json::Value,
        limits: &Limits,
        cancel: Option<sandbox::CancelSignal>,
    ) -> Result<ExecutionResult> {
        let tag = catalog::skill_image(&self.store, skill_id)?
            .ok_or_else(|| {
                Error::ImageNotFound(format!(
                    "skill {skill_id} has no installed image\nhint: call install({skill_id:?}, requirements, agent_id=...) first"
                ))
            })?
            .image_tag;
        catalog::ensure_not_quarantined(&self.store, &tag)?;
        let result = sandbox::run(docker, &tag, code, inputs, limits, cancel).await?;
        let connection = self.store.lock();
        audit::record(
            &connection,
            &AuditEvent {
                action: "skill_executed",
                skill_id: Some(skill_id),
                detail: json!({
                    "image_tag": tag,
                    "verdict": result.verdict,
                    "exit_code": result.exit_code,
                    "duration_ms": result.duration_ms,
                }),
                ..Default::default()
            },
        )?;
        Ok(result)
    }
}

/// Reads the Python version, architecture and C library (glibc or musl) of an image by running a
/// probe in the sandbox. Results are cached by image id for the process.
pub async fn probe_target(docker: &Docker, image_reference: &str) -> Result<TargetEnv> {
    static CACHE: OnceLock<Mutex<HashMap<String, TargetEnv>>> = OnceLock::new();
    let image = ensure_image(docker, image_reference).await?;
    let image_id = image.id.unwrap_or_else(|| image_reference.to_string());
    if let Some(target) = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner()).get(&image_id) {
        return Ok(target.clone());
    }

    // platform.libc_ver() detects only glibc, so a musl image (Alpine) is
    // recognised by its dynamic loader, which prints its version when run.
    let code = "import glob, platform, re, subprocess\nlibc, libc_version = platform.libc_ver()\nloaders = glob.glob('/lib/ld-musl-*.so.1')\nif not libc and loaders:\n    found = re.search(r'Version (\\d+\\.\\d+)', subprocess.run([loaders[0]], capture_output=True, text=True).stderr)\n    libc, libc_version = 'musl', found.group(1) if found else ''\nresult = {'python': platform.python_version(), 'machine': platform.machine(), 'libc': libc, 'libc_version': libc_version}";
    let limits = Limits {
        timeout: Duration::from_secs(60),
        ..Limits::default()
    };
    let run = sandbox::run(docker, image_reference, code, &json!({}), &limits, None).await?;
    let value = match (run.verdict, run.value) {
        (Verdict::Ok, Some(value)) => value,
        (verdict, _) => {
            return Err(Error::ImageNotFound(format!(
                "image {image_reference} cannot run python3 (verdict {}): {}\nhint: the base image needs python3 on its PATH",
                verdict.as_str(),
                run.stderr.trim()
            )))
        }
    };
    let text = |key: &str| value.get(key).and_then(|item| item.as_str()).unwrap_or("").to_string();
    let mut libc_version = text("libc_version").split('.').map(|part| part.parse::<u32>().unwrap_or(0)).collect::<Vec<_>>();
    libc_version.resize(2, 0);
    let libc_version = (libc_version[0], libc_version[1]);
    let (glibc, musl) = match text("libc").as_str() {
        "glibc" => (libc_version, None),
        "musl" if libc_version.0 > 0 => ((0, 0), Some(libc_version)),
        other => {
            return Err(Error::InvalidArgument(format!(
                "base image {image_reference} uses the C library {other:?} {:?}; only glibc (manylinux) and musl (musllinux) targets are supported",
                text("libc_version")
            )))
        }
    };
    let target = TargetEnv {
        python_full_version: text("python"),
        machine: text("machine"),
        glibc,
        musl,
    };
    target.python_version()?;
    log::debug!("target of {image_reference}: {target:?}");
    CACHE.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner()).insert(image_id, target.clone());
    Ok(target)
}

/// Checks a skill id: 1 to 128 letters, digits, `.`, `_` or `-`.
pub fn validate_skill_id(skill_id: &str) -> Result<()> {
    let valid = !skill_id.is_empty()
        && skill_id.len() <= 128
        && skill_id.chars().all(|character| character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '-'));
    if !valid {
        return Err(Error::InvalidArgument(format!(
            "invalid skill id {skill_id:?}: expected 1 to 128 letters, digits, '.', '_' or '-'"
        )));
    }
    Ok(())
}
