#!/bin/bash
# iogap on the benchmark (issue 5): both apps in their containers under load, traced by cgroup.
# Ground truth: the load generators' own counts of completed requests and of non-2xx answers
# (wrk's IOGAP_WRK_JSON lines and the uncorrected client's JSON, every phase: warmup and each
# measured run), plus the few requests the runner itself makes (endpoint checks, /config).
# Counts may differ by the requests in flight when a generator stops: at most its connections.
source "$(dirname "$0")/../lib.sh"
need_root "iogap counts each app's requests" "iogap's error mix equals the load's" \
	"BROKEN=django: the error answers are counted as such"

RUN=$ROOT/tools/bench/run
tmp=$(mktemp -d /tmp/iogap-e2e.XXXXXX)
on_exit rm -rf "$tmp"
export IOGAP_BENCH_STATE=/run/iogap-bench DURATION=2 CONNS=5 WARMUP=1
unset BROKEN APPS
cg=$(cgroup2_mount)/seedbench

# bench BROKEN_APP: up, trace both containers while the load runs, down
bench() {
	local broken=$1 out=$tmp/run-${1:-ok} ig
	mkdir -p "$out"
	on_exit env OUT="$out" "$RUN" down
	if ! OUT=$out BROKEN=$broken "$RUN" up >"$out/up.log" 2>&1; then
		not_ok "bench up (BROKEN=$broken) failed"
		tail -20 "$out/up.log" | sed 's/^/# /'
		return 1
	fi
	"$IOGAP" trace -j -o "$out/iogap.json" --cgroup "$cg/django" --cgroup "$cg/fastapi" 2>"$out/iogap.err" &
	ig=$!
	on_exit end_pid $ig
	wait_for_text "$out/iogap.err" tracing || { not_ok "iogap did not start"; return 1; }
	OUT=$out "$RUN" load >"$out/load.log" 2>&1
	kill -INT $ig
	wait $ig
	OUT=$out "$RUN" down >/dev/null 2>&1
	return 0
}

# compare.py OUT_DIR: per app, iogap's server responses and error answers vs the load's
cat >"$tmp/compare.py" <<'PYEOF'
import glob, json, os, re, sys
out = sys.argv[1]
d = json.load(open(os.path.join(out, "iogap.json")))
bad, info = [], []
for app in ("django", "fastapi"):
    t = [t for t in d["targets"] if t["name"] == app][0]
    done = errs = slack = 0
    for f in glob.glob(os.path.join(out, "raw", app + "-*.wrk.txt")):
        m = re.search(r"IOGAP_WRK_JSON (\{.*\})", open(f).read())
        j = json.loads(m.group(1))
        done += j["requests"]
        errs += j["errors"]["status"]
        slack += int(re.search(r"(\d+) connections", open(f).read()).group(1))
    for f in glob.glob(os.path.join(out, "raw", app + "-*.client.json")):
        j = json.load(open(f))
        done += j["requests"]
        errs += j["non2xx"]
        slack += 5
    slack += 10            # the runner's own endpoint checks and /config requests
    got = t["requests"]
    got_err = sum(h["status"]["4xx"] + h["status"]["5xx"] for h in t["http"] if h["side"] == "server")
    line = f"{app}: iogap {got} responses ({got_err} errors), load {done} completed ({errs} non-2xx), slack {slack}"
    ok = done <= got <= done + slack and errs <= got_err <= errs + slack
    (info if ok else bad).append(line)
print("\n".join(bad + info))
sys.exit(1 if bad else 0)
PYEOF

if bench ""; then
	check "iogap counts each app's requests and errors like the load generators" \
		$PY "$tmp/compare.py" "$tmp/run-ok"
fi
if bench django; then
	check "BROKEN=django: iogap's requests and error answers match the load's" \
		$PY "$tmp/compare.py" "$tmp/run-django"
	check "BROKEN=django: most of django's answers are errors in iogap's view" $PY - "$tmp/run-django/iogap.json" <<'PYEOF'
import json, sys
t = [t for t in json.load(open(sys.argv[1]))["targets"] if t["name"] == "django"][0]
err = sum(h["status"]["4xx"] + h["status"]["5xx"] for h in t["http"] if h["side"] == "server")
print(f"{err} of {t['requests']}")
sys.exit(0 if t["requests"] and err / t["requests"] > 0.5 else 1)
PYEOF
fi
finish
