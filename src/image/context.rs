//! The build context: a generated Dockerfile, the lock as a hash-checking
//! requirements file, and the verified wheels, packed as a tar in memory.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::resolve::Lock;

/// The path of the virtual environment inside skill images.
pub const VENV: &str = "/opt/skillguard-venv";

/// Writes the Dockerfile for a base image id. The install happens in a first
/// stage that contains the wheels, and the final stage copies only the environment.
pub fn dockerfile(base_image_id: &str) -> String {
    format!(
        "FROM {base_image_id} AS install
COPY requirements.lock /skillguard/requirements.lock
COPY wheels/ /skillguard/wheels/
RUN python3 -m venv {VENV} \\
 && {VENV}/bin/python -m pip install --no-index --no-deps --require-hashes --no-cache-dir \\
      --disable-pip-version-check --no-input --find-links /skillguard/wheels \\
      -r /skillguard/requirements.lock

FROM {base_image_id}
COPY --from=install {VENV} {VENV}
ENV PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    VIRTUAL_ENV={VENV}
USER 1000:1000
"
    )
}

/// Packs the context as an uncompressed tar.
pub fn build_context(lock: &Lock, wheels: &[PathBuf], base_image_id: &str) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    append_bytes(&mut builder, "Dockerfile", dockerfile(base_image_id).as_bytes())?;
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
