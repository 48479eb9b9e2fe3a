#!/bin/bash
# The soak test (make soak [SOAK_MINUTES=30]): the benchmark's two apps (tools/bench/run up)
# recorded by iogap for SOAK_MINUTES while wrk loads both of them at once, from LOAD_CPU.
# Ground truth: iogap's resident memory from the kernel (/proc/PID/status VmRSS), sampled every
# SOAK_SAMPLE seconds; the loss counters iogap keeps in the kernel (drops, lost.*); the
# recording read back by iogap report; wrk's own count of the responses it received.
# Passes when the RSS is flat (from the sample at +5 minutes on, every sample within 10% of
# it, and not growing by 5% of it an hour or more in both halves of that time, each fitted by
# least squares on its own: a leak grows in both, a one-time step such as a table doubling lies
# in one; a run shorter than 10 minutes starts at the sample at a third of it), nothing was dropped or
# lost, the recording is complete and readable, and iogap counted each app's responses (at
# least wrk's count, at most wrk's plus what was in flight when wrk stopped, on the connections
# wrk opened: more means another client loaded the apps meanwhile, and the comparison is void).
# Environment: SOAK_MINUTES (30), SOAK_CONNS (connections per app, 5), SOAK_SAMPLE (30 s),
# SOAK_OUT (a new /tmp directory; the recording, rss.tsv, wrk's output and summary.txt stay).
source "$(dirname "$0")/../lib.sh"
need_root "soak: bench up" "soak: RSS flat" "soak: no drops" "soak: recording readable" "soak: responses counted"

MINUTES=${SOAK_MINUTES:-30}
CONNS=${SOAK_CONNS:-5}
SAMPLE=${SOAK_SAMPLE:-30}
[[ $MINUTES =~ ^[1-9][0-9]*$ && $CONNS =~ ^[1-9][0-9]*$ && $SAMPLE =~ ^[1-9][0-9]*$ ]] ||
	{ echo "soak: SOAK_MINUTES, SOAK_CONNS and SOAK_SAMPLE must be whole numbers" >&2; exit 2; }
OUT=${SOAK_OUT:-$(mktemp -d /tmp/iogap-soak.XXXXXX)}
mkdir -p "$OUT"
BENCH=$ROOT/tools/bench
LOAD_CPU=${LOAD_CPU:-1}
secs=$((MINUTES * 60))
rec=$OUT/soak.iogap
echo "# soak: $MINUTES min, $CONNS connections per app, RSS every $SAMPLE s; output in $OUT"

# 1. The two apps (the bench refuses when a run is already up: another user's)
if ! OUT=$OUT/bench "$BENCH/run" up >"$OUT/bench-up.log" 2>&1; then
	not_ok "soak: bench up (see $OUT/bench-up.log)"
	sed 's/^/# /' "$OUT/bench-up.log" | tail -5
	finish
fi
on_exit "$BENCH/run" down
ok "soak: bench up (django :8001, fastapi :8000)"

# 2. iogap records both containers; wrk loads both apps for the whole run
"$IOGAP" record -o "$rec" --container django --container fastapi 2>"$OUT/iogap.err" &
ig=$!
on_exit end_pid $ig
if ! wait_for_text "$OUT/iogap.err" tracing; then
	not_ok "soak: iogap did not start"
	sed 's/^/# /' "$OUT/iogap.err"
	finish
fi
declare -A wrk_pid
for app in django fastapi; do
	port=8001
	[[ $app == fastapi ]] && port=8000
	taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 2s -s "$BENCH/mix.lua" \
		"http://127.0.0.1:$port" -- "$BENCH/mix.txt" >"$OUT/wrk-$app.txt" 2>&1 &
	wrk_pid[$app]=$!
	on_exit end_pid "${wrk_pid[$app]}"
done

# 3. Sample iogap's RSS until wrk is done
start=$SECONDS
printf 't_s\trss_kib\trecording_bytes\n' >"$OUT/rss.tsv"
sample() { printf '%d\t%d\t%d\n' $((SECONDS - start)) "$(awk '/^VmRSS:/ { print $2 }' /proc/$ig/status)" \
	"$(stat -c %s "$rec")" >>"$OUT/rss.tsv"; }
sample
next=$SAMPLE
while kill -0 "${wrk_pid[django]}" 2>/dev/null || kill -0 "${wrk_pid[fastapi]}" 2>/dev/null; do
	sleep 1
	kill -0 $ig 2>/dev/null || break
	if ((SECONDS - start >= next)); then
		sample
		next=$((next + SAMPLE))
	fi
done
kill -0 $ig 2>/dev/null && sample
wait "${wrk_pid[django]}" "${wrk_pid[fastapi]}"
kill -INT $ig
wait $ig
rc=$?
grep '^iogap: recorded' "$OUT/iogap.err" | sed 's/^/# /'
[[ $rc -eq 0 ]] || { not_ok "soak: iogap exited $rc"; sed 's/^/# /' "$OUT/iogap.err" | tail -5; }

# 4. The verdicts
ref_t=300
((secs < 600)) && ref_t=$((secs / 3))
check "soak: RSS flat (from +${ref_t} s on: every sample within 10% of that one, not growing 5% of it an hour in both halves)" $PY - "$OUT/rss.tsv" $ref_t <<'PYEOF'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]).read().splitlines()[1:]]
ref_t = int(sys.argv[2])
ref = next((r for r in rows if r[0] >= ref_t), None)
assert ref and len(rows) >= 5 and rows[-1][0] > ref[0], f"too few samples: {rows}"
after = [r for r in rows if r[0] >= ref[0]]
def slope(rs):
    mt, mr = sum(r[0] for r in rs) / len(rs), sum(r[1] for r in rs) / len(rs)
    return sum((r[0] - mt) * (r[1] - mr) for r in rs) / (sum((r[0] - mt) ** 2 for r in rs) or 1)
half = len(after) // 2
per_h = [slope(after[:half + 1]) * 3600, slope(after[half:]) * 3600]
hi = max(after, key=lambda r: abs(r[1] - ref[1]))
print(f"RSS {rows[0][1]} KiB at +{rows[0][0]} s, {ref[1]} KiB at +{ref[0]} s, {rows[-1][1]} KiB at +{rows[-1][0]} s, "
      f"max {max(r[1] for r in rows)} KiB; from +{ref[0]} s: {len(after)} samples, farthest {hi[1]} KiB at +{hi[0]} s, "
      f"fitted growth {per_h[0]:+.0f} and {per_h[1]:+.0f} KiB an hour in its halves "
      f"({100 * per_h[0] / ref[1]:+.1f}%, {100 * per_h[1] / ref[1]:+.1f}%)")
assert abs(hi[1] - ref[1]) <= 0.10 * ref[1], f"{hi[1]} KiB at +{hi[0]} s vs {ref[1]} KiB: more than 10%"
assert min(per_h) < 0.05 * ref[1], f"growing {per_h[0]:.0f} and {per_h[1]:.0f} KiB an hour: 5% of {ref[1]} KiB or more in both halves"
PYEOF
"$IOGAP" report "$rec" --json >"$OUT/report.json" 2>"$OUT/report.err"
rrc=$?
check "soak: no drops (drops and every lost counter 0)" $PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("drops", d["drops"], "lost", d["lost"])
assert d["drops"] == 0 and not any(d["lost"].values())' "$OUT/report.json"
check "soak: recording readable and complete (report exit $rrc, no problem told), $(stat -c %s "$rec") bytes" \
	bash -c "[[ $rrc -eq 0 && ! -s '$OUT/report.err' ]]"
check "soak: each app's responses counted by iogap (at least wrk's, at most wrk's + $CONNS in flight + timeouts)" \
	$PY - "$OUT/report.json" "$OUT/wrk-django.txt" "$OUT/wrk-fastapi.txt" "$CONNS" <<'PYEOF'
import json, sys
d, conns = json.load(open(sys.argv[1])), int(sys.argv[4])
bad = []
for app, f in (("django", sys.argv[2]), ("fastapi", sys.argv[3])):
    line = next((l for l in open(f) if l.startswith("IOGAP_WRK_JSON ")), None)
    if not line:
        bad.append(f"{app}: no summary from wrk")
        continue
    w = json.loads(line.split(" ", 1)[1])
    t = [t for t in d["targets"] if t["name"] == app]
    got = t[0]["requests"] if t else None
    hi = w["requests"] + conns + w["errors"]["timeout"]
    acc = t[0]["tcp"]["accepted"] if t else None
    print(f"{app}: wrk {w['requests']} responses ({w['errors']['status']} non-2xx, {w['errors']['timeout']} timeouts) on {conns} connections, iogap {got} on {acc}")
    if got is None or not w["requests"] <= got <= hi:
        bad.append(f"{app}: iogap {got}, want {w['requests']}..{hi}")
    # wrk connects once more than -c (a first connection, closed before the run)
    if acc is not None and acc > conns + 1 + w["errors"]["connect"] + w["errors"]["read"] + w["errors"]["timeout"]:
        bad.append(f"{app}: {acc} connections accepted, wrk opened {conns + 1}: another client loaded the app (the bench is shared)")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF

# 5. The summary
size=$(stat -c %s "$rec")
{
	echo "iogap soak: $MINUTES min, both bench apps under wrk ($CONNS connections each)"
	echo "  recording: $rec, $size bytes ($((size / MINUTES)) bytes/min, about $((size * 60 / MINUTES / 1000000)) MB an hour)"
	awk 'NR > 1 { n++; if (n == 1) f = $2; l = $2; if ($2 > m) m = $2 } END { printf "  iogap RSS: %d KiB first, %d KiB last, %d KiB max (%d samples: %s)\n", f, l, m, n, FILENAME }' "$OUT/rss.tsv"
	$PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("  drops %d, lost %s" % (d["drops"], sum(d["lost"].values())))
for t in d["targets"]:
    print("  %s: %d responses, %d syscalls" % (t["name"], t.get("requests", 0), t["syscalls"]))' "$OUT/report.json"
	echo "  verdict: $([[ $tap_failed -eq 0 ]] && echo PASS || echo "FAIL ($tap_failed checks)")"
} | tee "$OUT/summary.txt" | sed 's/^/# /'
finish
