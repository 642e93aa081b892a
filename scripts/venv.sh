#!/usr/bin/env bash
# Creates or reuses the project's virtual environment outside the clone.
#
#   scripts/venv.sh path     print the environment's folder (nothing is installed)
#   scripts/venv.sh ensure   make sure it exists, is complete and runs this checkout's code
#
# The folder is keyed by a hash of the dependency spec in pyproject.toml and the Python version,
# so a warm machine reuses it and a changed dependency list gets a fresh one. The project itself is
# installed editable; when the same environment serves another checkout (CI clones anew), only
# that cheap editable step is redone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
cache="${GSV_CACHE_DIR:-$HOME/.cache/gpt-sovits-k8s}"

key="$("$python" - "$here/pyproject.toml" <<'PY'
import hashlib, json, sys, tomllib
with open(sys.argv[1], "rb") as f:
    pyproject = tomllib.load(f)
project = pyproject["project"]
spec = {
    "packages": pyproject.get("tool", {}).get("setuptools", {}),
    "python": sys.version.split()[0],
    "requires-python": project.get("requires-python"),
    "dependencies": project.get("dependencies", []),
    "optional": project.get("optional-dependencies", {}),
    "scripts": project.get("scripts", {}),
}
print(hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16])
PY
)"
venv="$cache/venv-$key"

case "${1:-ensure}" in
  path) echo "$venv"; exit 0 ;;
  ensure) ;;
  *) echo "usage: $0 path|ensure" >&2; exit 2 ;;
esac

mkdir -p "$cache"
exec 9>"$cache/venv.lock"
flock 9   # concurrent `make` runs share one environment

if [[ ! -f "$venv/.complete" ]]; then
  rm -rf "$venv"
  echo "==> creating $venv (first run installs torch and friends: several minutes)" >&2
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --progress-bar off -e "$here[server,operator,dev]" >&2
  echo "$here" > "$venv/.source"
  touch "$venv/.complete"
  # Drop environments of older dependency specs, keeping the two most recent.
  # (grep exits 1 when nothing else is there: a fresh machine, so it must not fail the pipeline)
  { ls -1dt "$cache"/venv-* 2>/dev/null || true; } | { grep -vx "$venv" || true; } | tail -n +2 | xargs -r rm -rf
elif [[ "$(cat "$venv/.source" 2>/dev/null)" != "$here" ]]; then
  echo "==> pointing $venv at $here" >&2
  "$venv/bin/pip" install --quiet --no-deps -e "$here" >&2
  echo "$here" > "$venv/.source"
fi
echo "$venv"
