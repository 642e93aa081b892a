#!/usr/bin/env bash
# Runs a long build in the background while a foreground command runs, so that their waits overlap.
#
#   scripts/alongside.sh LOG 'BACKGROUND COMMAND' -- FOREGROUND COMMAND [ARGS...]
#
# `make test` uses it to compile the local cluster's Go binaries (CPU-bound, 18-27 minutes on a
# cold machine) while lint runs and the images build (mostly downloads and unpacking). Whoever
# needs the background's result waits for it themselves (the Go build holds a lock that pytest
# waits on), so this script only reports how the background ended:
# - the foreground fails or is interrupted: the background's whole process group is stopped and
#   the foreground's exit code is returned;
# - the background fails: its log's tail is printed and the exit code stays 0, because the tests
#   that need its binaries rebuild them and name the failure themselves.
set -uo pipefail

if [ $# -lt 4 ] || [ "$3" != "--" ]; then
  echo "usage: $0 LOG 'BACKGROUND COMMAND' -- FOREGROUND COMMAND [ARGS...]" >&2
  exit 2
fi
log="$1"
background="$2"
shift 3

mkdir -p "$(dirname "$log")"
# setsid gives the background a process group of its own, so one signal stops its children too.
setsid bash -c "$background" >"$log" 2>&1 </dev/null &
pid=$!
started=$(date +%s)
echo "==> in the background: $background (log: $log)"

stop_background() {
  kill -TERM -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap 'stop_background; exit 130' INT TERM

"$@"
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "==> stopping the background command: the foreground one failed (exit code $rc)"
  stop_background
  exit "$rc"
fi

if kill -0 "$pid" 2>/dev/null; then
  echo "==> waiting for the background command ($(( $(date +%s) - started ))s since it started)"
fi
wait "$pid"
background_rc=$?
trap - INT TERM
if [ "$background_rc" -eq 0 ]; then
  echo "==> the background command is done ($(( $(date +%s) - started ))s after it started)"
else
  echo "==> the background command failed (exit code $background_rc); the last lines of $log:"
  tail -n 20 "$log"
fi
exit 0
