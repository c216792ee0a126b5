# Settings shared by the demo and the tests; sourced, not run.
# The advisory snapshot beside the checkout replaces OSV's public export,
# which these machines cannot reach.
: "${SKILLGUARD_ADVISORY_SOURCE:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/data/pypa-advisory-database-2024-10-10.tar.gz}"
: "${SKILLGUARD_BASE_IMAGE:=skillguard-base:bookworm}"
export SKILLGUARD_ADVISORY_SOURCE SKILLGUARD_BASE_IMAGE
