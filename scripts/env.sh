# Sourced by Verity's scripts: where cargo builds.
#
# Builds go to a target directory outside the clone, so that a fresh clone (CI)
# reuses what an earlier build on this machine compiled. Override with
# VERITY_TARGET_DIR (or CARGO_TARGET_DIR).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${VERITY_TARGET_DIR:-$HOME/.cache/verity/target}}"
mkdir -p "$CARGO_TARGET_DIR"

# CI builds from a fresh clone each time: incremental caches are keyed by the
# clone's path, so every run would add a few GB of caches nobody reuses to the
# shared target directory (a full disk ended a session's build). CI compiles
# without them; developers' builds in their checkout keep them.
if [ "${CI:-}" = "true" ]; then
  export CARGO_INCREMENTAL=0
fi
