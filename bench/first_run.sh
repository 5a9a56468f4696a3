#!/usr/bin/env bash
# The first run of a newcomer, timed: a fresh clone, no venv, every package cache off,
# then `make run`; the clock stops when the first page (/) answers 200.
#
#   bench/first_run.sh [REF] [PORT]      REF: a commit of this repository (default HEAD)
#
# Prints one line: the seconds to the first page, the lines `make run` printed before it,
# and the machine's load (uptime) before and after. The clone is removed afterwards
# (KEEP=1 keeps it, with make-run.log: each line of `make run` after the seconds it came). Debian packages already installed are not reinstalled (as on a
# developer's machine that ran it once); Python and npm packages all come from the registry.
set -euo pipefail
ref=${1:-HEAD}
port=${2:-8800}
source=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d /tmp/motcua-first-run.XXXXXX)
clone="$work/motcua"
git clone -q "$source" "$clone"
git -C "$clone" checkout -q "$ref"
log="$work/make-run.log"
load_before=$(uptime | sed 's/.*load average: //')

# Each line of the kept log starts with the seconds since the start.
start=$(date +%s.%N)
stamp() {
  local line
  while IFS= read -r line; do
    printf '%7.1f %s\n' "$(echo "${EPOCHREALTIME/,/.} - $start" | bc)" "$line"
  done
}

# No project settings from this shell, every cache off or new and empty.
env -u DATABASE_URL -u CELERY_BROKER_URL -u EMAIL_URL -u DEBUG -u VIRTUAL_ENV \
  PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1 npm_config_cache="$work/npm-cache" \
  XDG_CACHE_HOME="$work/cache" \
  setsid make -C "$clone" run PORT="$port" > >(stamp >"$log") 2>&1 </dev/null &
pid=$!
status=000
while kill -0 "$pid" 2>/dev/null; do
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/" || true)
  [ "$status" = 200 ] && break
  sleep 0.5
done
end=$(date +%s.%N)
lines=$(wc -l <"$log")
load_after=$(uptime | sed 's/.*load average: //')
kill -- -"$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
seconds=$(echo "$end - $start" | bc)
if [ "$status" != 200 ]; then
  echo "first run of $(git -C "$clone" rev-parse --short HEAD) FAILED (no 200 on :$port); log: $log" >&2
  tail -20 "$log" >&2
  exit 1
fi
printf 'first run of %s: first page in %.1f s, %d lines printed before it; load before %s, after %s\n' \
  "$(git -C "$clone" rev-parse --short HEAD)" "$seconds" "$lines" "$load_before" "$load_after"
if [ "${KEEP:-}" = 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi
