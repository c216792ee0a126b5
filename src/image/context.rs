//! The build context: a generated Dockerfile, the lock as a hash-checking
//! requirements file, and the verified wheels, packed as a tar in memory.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::resolve::Lock;

/// The path of the virtual environment inside skill images.
pub const VENV: &str = "/opt/skillguard-venv";

/// Writes the Dockerfile for a base image id.
///
/// The install happens in a first stage that contains the wheels, and the
/// final stage copies only the environment. The environment is created
/// without pip and filled by a pip from a separate tools environment, so it
/// contains exactly the locked distributions. `extra_steps` are shell
/// commands run after the install, still without network.
pub fn dockerfile(base_image_id: &str, lock: &Lock, extra_steps: &[String]) -> String {
    let mut text = format!(
        "FROM {base_image_id} AS install
COPY requirements.lock /skillguard/requirements.lock
COPY wheels/ /skillguard/wheels/
RUN python3 -m venv --without-pip {VENV}
"
    );
    if !lock.packages.is_empty() {
        text.push_str(&format!(
            "RUN python3 -m venv /skillguard/tools \\
 && /skillguard/tools/bin/python -m pip --python {VENV}/bin/python install \\
      --no-index --no-deps --require-hashes --no-cache-dir --disable-pip-version-check --no-input \\
      --find-links /skillguard/wheels -r /skillguard/requirements.lock
"
        ));
    }
    for step in extra_steps {
        text.push_str(&format!("RUN {step}\n"));
    }
    text.push_str(&format!(
        "
FROM {base_image_id}
COPY --from=install {VENV} {VENV}
ENV PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    VIRTUAL_ENV={VENV}
USER 1000:1000
"
    ));
    text
}

/// Checks extra build steps: each one non-empty shell line of at most 1,000 characters.
pub fn validate_extra_steps(steps: &[String]) -> Result<()> {
    for step in steps {
        if step.trim().is_empty() || step.len() > 1000 || step.contains(['\n', '\r', '\0']) {
            return Err(Error::InvalidArgument(format!(
                "invalid extra build step {step:?}: expected one non-empty shell line of at most 1000 characters"
            )));
        }
    }
    Ok(())
}

/// Packs the context as an uncompressed tar.
pub fn build_context(lock: &Lock, wheels: &[PathBuf], base_image_id: &str, extra_steps: &[String]) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    append_bytes(&mut builder, "Dockerfile", dockerfile(base_image_id, lock, extra_steps).as_bytes())?;
    append_bytes(&mut builder, "requirements.lock", lock.to_requirements_txt().as_bytes())?;
    append_bytes(&mut builder, "wheels/.keep", b"")?;
    for path in wheels {
        let name = path
            .file_name()
            .ok_or_else(|| Error::Build(format!("wheel path {} has no file name", path.display())))?;
        let mut file = std::fs::File::open(path).map_err(|error| Error::io("failed to open", path, error))?;
        builder
            .append_file(format!("wheels/{}", name.to_string_lossy()), &mut file)
            .map_err(|error| Error::io("failed to pack", path, error))?;
    }
    builder.into_inner().map_err(|error| Error::Build(format!("failed to pack the build context: {error}")))
}

fn append_bytes(builder: &mut tar::Builder<Vec<u8>>, name: &str, bytes: &[u8]) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder
        .append_data(&mut header, name, bytes)
        .map_err(|error| Error::Build(format!("failed to pack {name} into the build context: {error}")))
}
