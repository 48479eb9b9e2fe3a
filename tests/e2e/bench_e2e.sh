#!/usr/bin/env bash
# End-to-end test of tools/bench (issue 3): short runs of the real benchmark on this machine.
# Prints TAP; exits 0 if no test failed. Needs root (cgroups, namespaces): skips otherwise.
#   1. `run up`, the launcher's refusals, `run load`, `run down` (the path iogap's demo uses)
#   2. BROKEN=django: the error side answers fast, its error rate shows
#   3. a run interrupted by SIGTERM during the load
# After each: no container process, no seedbench cgroup, no listener on 8000/8001.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN=$ROOT/tools/bench/run
CONTAINER=$ROOT/tools/bench/container
PY=/usr/bin/python3
STATE_ROOT=/run/iogap-bench
export IOGAP_BENCH_STATE=$STATE_ROOT DURATION=3 CONNS=5 WARMUP=1
unset OUT BROKEN APPS
T0=$SECONDS
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
comment() { sed 's/^/# /'; }
check() { # check DESC CMD...: one TAP line from a command's status
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

if [[ $EUID -ne 0 ]]; then
	echo "ok 1 - tools/bench end-to-end # SKIP not root (needs cgroups and namespaces)"
	echo "1..1"
	exit 0
fi

cgroup2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo | head -n 1)
TMP=$(mktemp -d /tmp/iogap-bench-e2e.XXXXXX)
OWN=""

leftovers() { # prints whatever the benchmark left behind
	local p
	for p in 8000 8001; do
		ss -Hltn "sport = :$p" | sed "s/^/listening: /"
	done
	[[ -d $cgroup2/seedbench ]] && find "$cgroup2/seedbench" -mindepth 1 -maxdepth 1 -type d | sed "s/^/cgroup: /"
	[[ -e $STATE_ROOT/django || -e $STATE_ROOT/fastapi ]] && echo "state: $(ls "$STATE_ROOT")"
	pgrep -af -- "$ROOT/tools/bench/|$TMP/" | sed "s/^/process: /"
	return 0
}

nothing_left() { # nothing_left DESC
	local left
	left=$(leftovers)
	if [[ -z $left ]]; then ok "$1"; else not_ok "$1"; comment <<<"$left"; fi
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $OWN ]]; then
		"$RUN" down >/dev/null 2>&1 || true
		if [[ -f $STATE_ROOT/e2e-refuse/state ]]; then "$CONTAINER" stop e2e-refuse >/dev/null 2>&1; fi
		if [[ -d $cgroup2/seedbench/e2e-refuse ]]; then rmdir "$cgroup2/seedbench/e2e-refuse"; fi
	fi
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# results CHECK OUT APP...: TAP lines from checks of OUT/results.json (python prints "1|desc")
results() {
	local line
	while IFS= read -r line; do
		if [[ $line == 1\|* ]]; then ok "${line#1|}"; else not_ok "${line#*|}"; fi
	done < <("$PY" - "$@" <<'EOF'
import json, os, re, sys
what, out, apps = sys.argv[1], sys.argv[2], sys.argv[3:]
def say(cond, desc):
    print("%d|%s" % (bool(cond), desc))
try:
    res = json.load(open(os.path.join(out, "results.json")))
except Exception as e:
    say(False, "%s: results.json readable (%s)" % (what, e))
    sys.exit()
for app in apps:
    runs = res["apps"].get(app, {}).get("runs", [])
    r = runs[0] if runs else {}
    say(len(runs) == 1 and r.get("conns") == 5, "%s: results.json has %s at 5 connections" % (what, app))
    if not r:
        continue
    say(r["rps"] > 0 and r["uncorrected_rps"] > 0,
        "%s: %s RPS > 0 (wrk %.0f, uncorrected %.0f)" % (what, app, r["rps"], r["uncorrected_rps"]))
    say(0 < r["p50_ns"] <= r["p95_ns"] <= r["p99_ns"],
        "%s: %s wrk p50 <= p95 <= p99 (%d <= %d <= %d us)"
        % (what, app, r["p50_ns"] // 1000, r["p95_ns"] // 1000, r["p99_ns"] // 1000))
    say(0 < r["uncorrected_p50_ns"] <= r["uncorrected_p95_ns"] <= r["uncorrected_p99_ns"],
        "%s: %s uncorrected p50 <= p95 <= p99" % (what, app))
    say(r["cpu_pct"] > 0 and r["mem_bytes"] > 10e6,
        "%s: %s CPU %% and memory measured (%.0f%%, %.0f MB)"
        % (what, app, r["cpu_pct"], r["mem_bytes"] / 1e6))
    say(r["loadgen"]["wrk_cpu_pct"] < 50 and r["loadgen"]["client_cpu_pct"] < 50,
        "%s: %s load generators kept up (wrk %.0f%%, client %.0f%% of their CPU)"
        % (what, app, r["loadgen"]["wrk_cpu_pct"], r["loadgen"]["client_cpu_pct"]))
    settings = res["apps"][app]["settings"]
    say(settings.get("sqlite_journal_mode") and settings.get("gunicorn_workers") == 1,
        "%s: %s settings measured (journal_mode %s)" % (what, app, settings.get("sqlite_journal_mode")))
    if what == "normal" and app == "fastapi":
        say(r["error_rate"] == 0 and r["uncorrected_error_rate"] == 0,
            "normal: fastapi error rate 0 (%.4f)" % r["error_rate"])
    elif what == "normal" and app == "django":
        # Django's defaults on SQLite (deferred BEGIN, rollback journal, a connection per
        # thread) make some concurrent /db/transaction fail with "database is locked" (500):
        # that is measured, not hidden. Every other error would be a failure. The log also
        # holds the warmup's failures, hence >=.
        log = open(res["apps"][app]["log"]).read()
        failures = re.findall(r"^Internal Server Error: (\S+)", log, re.M)
        errors = re.findall(r"^\S*Error: .*$", log, re.M)
        only_locked = (all(p == "/db/transaction" for p in failures)
                       and all("database is locked" in e for e in errors))
        say(r["socket_errors"] == 0 and r["uncorrected_socket_errors"] == 0 and
            len(failures) >= r["non2xx"] + r["uncorrected_non2xx"] and only_locked and
            r["error_rate"] < 0.1,
            "normal: django error rate %.4f, all %d errors 500 'database is locked' on "
            "/db/transaction" % (r["error_rate"], len(failures)))
    elif what == "broken" and app == "django":
        say(r["error_rate"] > 0.5 and res["broken"] == "django",
            "broken: django error rate > 0.5 (%.3f)" % r["error_rate"])
    elif what == "broken" and app == "fastapi":
        say(r["error_rate"] == 0, "broken: fastapi unaffected (error rate %.4f)" % r["error_rate"])
if what == "broken" and os.path.exists(os.path.join(out, "..", "normal", "results.json")):
    normal = json.load(open(os.path.join(out, "..", "normal", "results.json")))
    a, b = res["apps"]["django"]["runs"][0]["rps"], normal["apps"]["django"]["runs"][0]["rps"]
    say(a > b, "broken: erroring django looks faster than working django (%.0f > %.0f RPS)" % (a, b))
EOF
	)
}

echo "# tools/bench end-to-end, output in $TMP"
before=$(leftovers)
if [[ -n $before ]]; then
	not_ok "nothing of the benchmark running before the test"
	comment <<<"$before"
	echo "1..$n"
	exit 1
fi
OWN=1

# 1. up / refusals / load / down
if OUT=$TMP/normal "$RUN" up >"$TMP/up.log" 2>&1; then ok "run up starts both containers"; else
	not_ok "run up starts both containers"
	tail -n 20 "$TMP/up.log" | comment
fi
for app in django fastapi; do
	check "$app: every endpoint answers 2xx" \
		test "$(grep -c "^ok   $app " "$TMP/up.log")" -eq "$(grep -c '^[0-9]' "$ROOT/tools/bench/mix.txt")"
	check "$app: cgroup $cgroup2/seedbench/$app holds its processes" \
		test -n "$(cat "$cgroup2/seedbench/$app/cgroup.procs" 2>/dev/null)"
done
check "fastapi runs as PID 1 of its own PID namespace" \
	test "$(awk '/^NSpid/ { print $NF }' "/proc/$(sed -n 2p "$cgroup2/seedbench/fastapi/cgroup.procs")/status")" = 1
out=$("$CONTAINER" start e2e-refuse --port 8001 -- sleep 30 2>&1)
rc=$?
check "launcher refuses a busy port" test "$rc" -ne 0 -a -n "$(echo "$out" | grep 'port 8001 busy')"
mkdir "$cgroup2/seedbench/e2e-refuse"
out=$("$CONTAINER" start e2e-refuse -- sleep 30 2>&1)
rc=$?
rmdir "$cgroup2/seedbench/e2e-refuse"
check "launcher refuses an existing cgroup" test "$rc" -ne 0 -a -n "$(echo "$out" | grep 'already exists')"
if "$RUN" load >"$TMP/load.log" 2>&1; then ok "run load completes"; else
	not_ok "run load completes"
	tail -n 20 "$TMP/load.log" | comment
fi
check "run load prints the table" grep -q "^fastapi *5 " "$TMP/load.log"
sed -n '/^app /,/^$/p' "$TMP/load.log" | comment
results normal "$TMP/normal" django fastapi
"$RUN" down >"$TMP/down.log" 2>&1
check "run down succeeds" test $? -eq 0
nothing_left "nothing left after run down"

# 2. BROKEN=django, the whole run in one command
if BROKEN=django OUT=$TMP/broken "$RUN" >"$TMP/broken.log" 2>&1; then ok "BROKEN=django run completes"; else
	not_ok "BROKEN=django run completes"
	tail -n 20 "$TMP/broken.log" | comment
fi
sed -n '/^app /,/^$/p' "$TMP/broken.log" | comment
results broken "$TMP/broken" django fastapi
nothing_left "nothing left after a full run"

# 3. SIGTERM in the middle of the load
APPS=django DURATION=20 OUT=$TMP/interrupted "$RUN" >"$TMP/interrupted.log" 2>&1 &
pid=$!
deadline=$((SECONDS + 60))
until grep -q "warmed up" "$TMP/interrupted.log" 2>/dev/null || ((SECONDS > deadline)); do sleep 0.2; done
sleep 1
kill -TERM "$pid"
wait "$pid"
check "interrupted run exits with 143" test $? -eq 143
nothing_left "nothing left after an interrupted run"

echo "# took $((SECONDS - T0)) s"
echo "1..$n"
((failed == 0))
