#!/usr/bin/env bash
# `make fuzz`: schemathesis against a real Kumo server that holds a small cloud (project, nodes with a lease, a
# workload and its replicas, a bound replica, a service, a secret, an instance, an image with real blobs), with the
# admin token. Phases: examples, coverage, fuzzing, stateful. Checks: not_a_server_error (no 5xx),
# response_schema_conformance and status_code_conformance (every answer is one the OpenAPI document describes).
# A finding fails the run; nothing is baselined. The server must also still be alive at the end (a crash is a
# finding even when no response showed it).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/fuzz.sh [--budget ci|full] [--max-time S] [--kumo PATH] [--seed N] [--keep]

Starts `kumo server` in a temporary data directory on a free loopback port, seeds it (scripts/fuzz/seed.py), runs
schemathesis (installed into ~/.cache/kumo-fuzz/ on first use) against /openapi.json with the admin token, then checks
the server is still alive and stops it, also on failure or Ctrl-C.

  --budget ci     (default; `make fuzz`) under 3 minutes: --max-time 120 for all phases, plus about 30 s to start and seed
  --budget full   (`make fuzz FUZZ_BUDGET=full`) 20 minutes, more examples per operation
  --max-time S    schemathesis's time budget in seconds, instead of the budget's
  --kumo PATH     the kumo binary (default .build/debug/kumo)
  --seed N        schemathesis seed, to replay a run (each run prints its seed)
  --keep          keep the data directory and the server log (printed at the end)

What shapes the requests (every answer is still judged): a share of path parameters are the seeded names; object
writes, blob uploads and tags often get valid bodies with one or two hostile fields (scripts/fuzz/hooks.py); every
request has a token (no unauthenticated requests: they only fill the failure limiter); watch=true and follow=true
are never sent (streams that end only when the client hangs up); the fuzzer never revokes its own join token.

Environment: FUZZ_BUDGET (ci|full) is the default for --budget. Reports (JUnit, NDJSON) and the server log of the
last run are under .build-fuzz/last/.
EOF
}

cd "$(dirname "$0")/.."
root=$PWD
budget=${FUZZ_BUDGET:-ci}
kumo=$root/.build/debug/kumo
seed=""
keep=0
max_time_override=""
while [ $# -gt 0 ]; do
  case $1 in
  --budget) budget=$2; shift 2 ;;
  --kumo) kumo=$2; shift 2 ;;
  --seed) seed=$2; shift 2 ;;
  --max-time) max_time_override=$2; shift 2 ;;
  --keep) keep=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) echo "fuzz: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case $budget in
ci) max_time=120 max_examples=25 ;;
full) max_time=1200 max_examples=200 ;;
*) echo "fuzz: --budget must be ci or full, not $budget" >&2; exit 2 ;;
esac
[ -z "$max_time_override" ] || max_time=$max_time_override
[ -x "$kumo" ] || { echo "fuzz: no kumo binary at $kumo (run make build)" >&2; exit 2; }

# schemathesis in a venv of its own, pinned: nothing global changes, and every run uses the same checks
SCHEMATHESIS_VERSION=4.32.5
# (in the user's cache, not the clone: a fresh clone, as CI's, reuses it)
venv=${XDG_CACHE_HOME:-$HOME/.cache}/kumo-fuzz/schemathesis-$SCHEMATHESIS_VERSION
st=$venv/bin/schemathesis
if ! "$st" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

out=$root/.build-fuzz/last
rm -rf "$out"
mkdir -p "$out"
data=$(mktemp -d "${TMPDIR:-/tmp}/kumo-fuzz.XXXXXX")
server_pid=""
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  cp "$data/server.log" "$out/server.log" 2>/dev/null || true
  if [ "$keep" = 1 ]; then echo "fuzz: data directory kept: $data"; else rm -rf "$data"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# a free loopback port: bind port 0, read what the kernel gave, release it for the server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=https://127.0.0.1:$port
"$kumo" server --data-dir "$data" --listen "127.0.0.1:$port" --log-level warning >"$data/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS --cacert "$data/ca.crt" "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "fuzz: the server exited at start:" >&2; cat "$data/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS --cacert "$data/ca.crt" "$url/healthz" >/dev/null || { echo "fuzz: the server did not answer /healthz" >&2; exit 1; }

# the config it writes holds the tokens (admin for everything, a join token for POST /api/v1/join), the seeded names
# and the hooks file (scripts/fuzz/hooks.py: valid objects of each kind with hostile fields)
python3 scripts/fuzz/seed.py "$url" "$data" "$data/schemathesis.toml" "$root/scripts/fuzz/hooks.py" "$data/seeded.json"
export FUZZ_SEEDED=$data/seeded.json
token=$(cat "$data/admin.token")
# /openapi.json needs a token, so it is fetched here and given to schemathesis as a file (with --url)
curl -fsS --cacert "$data/ca.crt" -H "Authorization: Bearer $token" "$url/openapi.json" >"$data/openapi.json"

args=(
  run "$data/openapi.json" --url "$url" --tls-verify "$data/ca.crt"
  --phases examples,coverage,fuzzing,stateful
  --checks not_a_server_error,response_schema_conformance,status_code_conformance
  --max-time "$max_time" --max-examples "$max_examples"
  # every request carries the admin token: requests without one only fill the per-address failure limiter (429s
  # for everything after), and authentication has its own tests (TokenLifecycleTests, AuditTests)
  --generation-with-security-parameters false
  --request-timeout 20 --workers 2 --no-color
  --report junit,ndjson --report-dir "$out"
)
[ -n "$seed" ] && args+=(--seed "$seed")
echo "fuzz: schemathesis $SCHEMATHESIS_VERSION against $url, budget $budget (max $max_time s)"
start=$(date +%s)
rc=0
(cd "$data" && "$st" --config-file "$data/schemathesis.toml" "${args[@]}") 2>&1 | tee "$out/schemathesis.log" || rc=$?
echo "fuzz: schemathesis finished in $(($(date +%s) - start)) s (exit $rc)"

# alive: the process exists and is not a zombie (a dead child stays one until it is waited for)
alive() { [ -r "/proc/$server_pid/stat" ] && ! grep -qE '^[0-9]+ \(.*\) Z' "/proc/$server_pid/stat"; }
if ! alive; then
  echo "fuzz: FAILED: the server died during the run; why, and where (the crashed thread):" >&2
  grep -a -m3 "Fatal error" "$data/server.log" >&2 || true
  grep -a -A12 '" crashed:' "$data/server.log" >&2 || true
  echo "fuzz: the end of its log ($data/server.log):" >&2
  tail -30 "$data/server.log" >&2
  exit 1
fi
curl -fsS --cacert "$data/ca.crt" "$url/readyz" >/dev/null || { echo "fuzz: FAILED: the server no longer answers /readyz" >&2; exit 1; }
if grep -aE "Fatal error|internal_error|request failed" "$data/server.log" >"$out/server-errors.log"; then
  echo "fuzz: FAILED: the server logged failed requests (5xx):" >&2
  head -20 "$out/server-errors.log" >&2
  exit 1
fi
if [ "$rc" != 0 ]; then
  # the tool's own crash (a Python exception inside hypothesis or schemathesis, no failed check) is no finding
  if python3 "$root/scripts/fuzz/tool_errors.py" "$out/schemathesis.log"; then
    echo "fuzz: note: schemathesis crashed inside its own code (see ERRORS above) and reported no failed check; not a finding" >&2
  else
    echo "fuzz: FAILED: schemathesis reported findings (see above; reports in $out)" >&2
    exit "$rc"
  fi
fi
echo "fuzz: passed: no 5xx, no schema violation, the server is alive"
# schemathesis's count of test cases, as a closing line test-result readers understand
cases=$(grep -oE '^ *[0-9]+ generated, [0-9]+ passed' "$out/schemathesis.log" | tail -1 | grep -oE '[0-9]+ passed$' | grep -oE '[0-9]+' || true)
if [ -n "$cases" ]; then echo "fuzz: $cases passed, 0 failed"; fi
