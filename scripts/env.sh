# Sourced by Verity's scripts: where cargo builds.
#
# Builds go to a target directory outside the clone, so that a fresh clone (CI)
# reuses what an earlier build on this machine compiled. Override with
# VERITY_TARGET_DIR (or CARGO_TARGET_DIR).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${VERITY_TARGET_DIR:-$HOME/.cache/verity/target}}"
mkdir -p "$CARGO_TARGET_DIR"
