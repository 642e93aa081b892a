#!/usr/bin/env bash
# Runs the test suite as two pytest sessions at once: the tests that need the local cluster (most
# of their time is spent waiting on it: pods to start, autoscalers to act) beside all the others
# (mostly CPU), so that the two overlap.
#
#   scripts/pytest-split.sh PYTHON [PYTEST ARGS...]
#
# The cluster's session writes to a log (GSV_SPLIT_LOG, or a temp file), printed whole after the
# other session ends, so neither's output is interleaved. The exit code is the other session's
# failure, else the cluster session's; "no tests collected" (5) passes in either half, so a path
# that holds only one kind of test still runs. Arguments that select by mark (-m) run as given,
# in one session.
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 PYTHON [PYTEST ARGS...]" >&2
  exit 2
fi
python="$1"
shift
for arg in "$@"; do
  case "$arg" in
    -m | -m?*) exec "$python" -m pytest "$@" ;;
  esac
done
log="${GSV_SPLIT_LOG:-$(mktemp "${TMPDIR:-/tmp}/gsv-pytest-cluster.XXXXXX.log")}"

passed() { [ "$1" -eq 0 ] || [ "$1" -eq 5 ]; }

# setsid: the cluster session and its children form one process group, stopped together.
setsid "$python" -m pytest -m cluster "$@" >"$log" 2>&1 </dev/null &
pid=$!
echo "==> the cluster's tests run in the background (log: $log)"
trap 'kill -TERM -- "-$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 130' INT TERM

"$python" -m pytest -m "not cluster" "$@"
rest=$?
echo "==> the other tests ended (exit code $rest); waiting for the cluster's"
wait "$pid"
cluster=$?
echo "==> the cluster's tests (exit code $cluster):"
cat "$log"

if ! passed "$rest"; then
  exit "$rest"
fi
if ! passed "$cluster"; then
  exit "$cluster"
fi
exit 0
