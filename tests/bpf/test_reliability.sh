#!/bin/bash
# Reliability (issue 10): how iogap ends, churn, targets that end, two instances, a full ring
# buffer, a machine without tracefs, every error message, memory errors, and what is never stored.
# Ground truth, by section:
#  1 signals      the BPF programs, maps and links iogap holds (its /proc/PID/fdinfo, by ID) and
#                 bpftool's list after it ended; the processes in its iogap-<pid> cgroup while it
#                 ran (pid and start time); the recording read back by iogap report
#  2 churn        tests/bpf/churn.c: N processes of exactly K preads each, one exec'd after another;
#                 N threads of exactly K getppid each, made where a bystander's thread just ended
#  3 targets end  the static workload's own report (tests/bpf/workload.c), per target
#  4 two iogaps   sqlite_workload's own sqlite3_trace_v2 counts; the two instances' syscall counts
#  5 ring buffer  the ring buffer's size (bpf/iogap.h) over one open event's size (bpf/syscalls.h):
#                 N opens while iogap is stopped can deliver at most that many events; for a
#                 full map, the fsync syscalls counted apart in io_stats
#  6 messages     the exact lines in tools/iogap/*.c and user/, and the exit codes they promise;
#                 /proc/self/mountinfo inside and outside a private mount namespace; for a
#                 corrupt recording, the figures of its chunks left intact (read in Python)
#  7 valgrind     valgrind's own error and leak accounting on iogap report and explain
#  8 security     the distinctive literals the test's own programs sent; a marker file written
#                 only if a command name is executed literally; the workload's own statement counts
#                 when its libsqlite3 is reachable from outside its root only through a symlink
source "$(dirname "$0")/../lib.sh"
need_root "signals: BPF objects, processes, cgroups, recordings" "churn: 100 processes counted exactly" \
	"churn: 100 threads at a bystander's freed task counted exactly" \
	"a target that ends mid-run" "two instances on one target" "ring buffer overflow counted" \
	"tracefs mounted when missing" "exact error messages" "valgrind on report and explain" \
	"SQL literals and request bodies never stored" "commands run with execvp" \
	"library paths resolved inside the process's root"

WL=$ROOT/.output/tests/workload
SQ=$ROOT/.output/tests/sqlite_workload
CH=$ROOT/.output/tests/churn
for b in "$WL" "$SQ" "$CH"; do
	[[ -x $b ]] || { not_ok "$b is built (run make)"; finish; }
done
tmp=$(mktemp -d /tmp/iogap-rel.XXXXXX)
on_exit rm -rf "$tmp"
cgmnt=$(cgroup2_mount)
par=$cgmnt/iogaptest-rel-$$
mkdir "$par" || { not_ok "cannot create $par"; finish; }
before_cg=$(left_cgroups)

# kill_cgroup DIR: SIGKILL the processes in a cgroup this test made (or that an iogap it started
# left behind), each by its PID, then remove the directory
kill_cgroup() {
	local cg=$1 p
	for _ in $(seq 50); do
		[[ -d $cg ]] || return 0
		for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		rmdir "$cg" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
on_exit remove_test_cgroups "$par"

# the BPF objects a process holds, from its fdinfo: "prog ID", "map ID", "link ID" lines
bpf_held() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		awk '/^prog_id:/ { print "prog", $2 } /^map_id:/ { print "map", $2 } /^link_id:/ { print "link", $2 }' "$f" 2>/dev/null
	done | sort -u
}
# those of a bpf_held list that bpftool still shows (one listing per kind)
bpf_alive() {
	local kind
	for kind in prog map link; do
		comm -12 <(grep "^$kind " <<<"$1" | sort -u) \
			<(bpftool "$kind" show 2>/dev/null | awk -v k="$kind" -F: '/^[0-9]+:/ { print k, $1 }' | sort -u)
	done
}
# "ID NAME" of every loaded program or map (KIND prog or map)
bpf_names() { bpftool "$1" show 2>/dev/null | awk '/^[0-9]+:/ { sub(":", "", $1); for (i = 2; i < NF; i++) if ($i == "name") print $1, $(i + 1) }'; }
# "pid starttime" of a process (field 22 of /proc/PID/stat): the same process, not a reused pid
proc_id() { awk '{ sub(/^.*\) /, ""); print '"$1"', $20 }' "/proc/$1/stat" 2>/dev/null; }
# those of a list of proc_id lines still running (a zombie has ended: it is only not reaped yet)
still_there() {
	local pid st
	while read -r pid st; do
		[[ -n $pid && $(proc_id "$pid") == "$pid $st" && $(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat") != Z ]] &&
			echo "$pid"
	done <<<"$1"
}

# 1. SIGINT, SIGTERM, SIGKILL mid-run: record a launched, busy workload: a Python process
# writing to SQLite in the background (so uprobes are attached too; one process, as each uprobe
# costs the kernel ~0.1 s to remove) and the static workload exec'd in a loop
mkdir -p "$tmp/sigd"
cat >"$tmp/sqloop.py" <<'PYEOF'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE IF NOT EXISTS t(a INTEGER)")
while True:
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    time.sleep(0.01)
PYEOF
for sig in INT TERM KILL; do
	rec=$tmp/sig-$sig.iogap err=$tmp/sig-$sig.err
	"$IOGAP" record -o "$rec" -i 200ms -- sh -c "$PY $tmp/sqloop.py $tmp/sigd/$sig.db & while :; do $WL $tmp/sigd $tmp/sigd/r.json; done" \
		2>"$err" &
	ig=$!
	cg=$cgmnt/iogap-$ig
	on_exit kill_cgroup "$cg"
	on_exit end_pid $ig
	if ! wait_for_text "$err" "SQLite in pid"; then
		not_ok "SIG$sig: iogap did not start"
		sed 's/^/# /' "$err"
		continue
	fi
	sleep 0.6
	held=$(bpf_held $ig)
	procs=$(for p in $(cat "$cg/cgroup.procs"); do proc_id "$p"; done)
	# iogap's guard (user/collect/command.c): its child outside the command's cgroup
	guard=$(for p in $(pgrep -P $ig); do grep -qx "$p" "$cg/cgroup.procs" || proc_id "$p"; done)
	progs=$(grep -c '^prog' <<<"$held") maps=$(grep -c '^map' <<<"$held") links=$(grep -c '^link' <<<"$held")
	names=$(join <(awk '$1 == "prog" { print $2 }' <<<"$held" | sort) <(bpf_names prog | sort) | awk '{ print $2 }' | sort -u)
	mapnames=$(join <(awk '$1 == "map" { print $2 }' <<<"$held" | sort) <(bpf_names map | sort) | awk '{ print $2 }' | sort -u)
	if [[ $sig == INT ]]; then
		echo "# iogap's maps (bpftool map show): $(echo $mapnames)"
		echo "# iogap's programs: $(echo $names)"
	fi
	# 6 syscall/sched/cgroup programs, 12 SQLite, 4 TCP, the time budget's; 10 tracepoint links and
	# 16 uprobe links (the Python process); the modules' maps (the ring buffer "events" among them)
	check "SIG$sig: while running, iogap holds $progs programs (all iogap_*), $maps maps, $links links" \
		bash -c "[[ $progs -ge 22 && $maps -ge 20 && $links -ge 26 ]] && ! grep -qv '^iogap_' <<<'$names' &&
			grep -qx events <<<'$mapnames' && grep -qx cgroup_slots <<<'$mapnames'"
	t0=$(date +%s%N)
	kill -$sig $ig
	wait $ig
	rc=$?
	took=$((($(date +%s%N) - t0) / 1000000))
	for _ in $(seq 50); do [[ -z $(bpf_alive "$held") ]] && break; sleep 0.1; done
	left=$(bpf_alive "$held")
	check "SIG$sig: no BPF program, map or link of iogap left (left: $(echo $left))" test -z "$left"
	"$IOGAP" report "$rec" --json >"$tmp/sig-$sig.json" 2>"$tmp/sig-$sig.rep.err"
	rrc=$?
	if [[ $sig == KILL ]]; then
		check "SIGKILL: exit $rc (want 137), the recording readable (report exit $rrc), 'no trailer' said" bash -c "
			cat '$tmp/sig-$sig.rep.err'; [[ $rc -eq 137 && $rrc -eq 0 ]] && grep -q 'recording has no trailer: iogap was killed' '$tmp/sig-$sig.rep.err' &&
			$PY -c 'import json, sys; assert json.load(open(sys.argv[1]))[\"targets\"][0][\"syscalls\"] > 0' '$tmp/sig-$sig.json'"
		# iogap cannot clean up after SIGKILL; its guard, which sees iogap's end as the EOF of a
		# pipe without iogap's "done", ends what is left in the cgroup (the command, untraced
		# now, and any of its processes held stopped at an exec), removes it, says so and exits
		for _ in $(seq 100); do
			[[ ! -d $cg && -z $(still_there "$guard") ]] && break
			sleep 0.1
		done
		alive=$(still_there "$procs") galive=$(still_there "$guard")
		said=$(tail -1 "$err")
		check "SIGKILL: the guard ($(echo $guard | cut -d' ' -f1)) ended the $(echo "$procs" | grep -c .) processes launched (left: $(echo $alive)), removed $cg, exited; it said so" \
			bash -c '[[ -n $1 && ! -d $2 && -z $3 && -z $6 ]] &&
				[[ $4 =~ ^"iogap: pid $5 ended without removing its cgroup $2: ended the "[0-9]+" process"(es)?" left in it and removed it"$ ]] || { echo "said: $4"; exit 1; }' \
			_ "$guard" "$cg" "$alive" "$said" "$ig" "$galive"
	else
		# the command's status is iogap's: sh ended by the SIGTERM iogap sent it
		check "SIG$sig: ended in $took ms, exit $rc (want 143: the command's), the recording complete (report exit $rrc, no problem told)" bash -c "
			cat '$tmp/sig-$sig.rep.err'; [[ $rc -eq 143 && $rrc -eq 0 && ! -s '$tmp/sig-$sig.rep.err' ]] &&
			$PY -c 'import json, sys; assert json.load(open(sys.argv[1]))[\"targets\"][0][\"syscalls\"] > 0' '$tmp/sig-$sig.json'"
		alive=$(still_there "$procs") galive=$(still_there "$guard")
		check "SIG$sig: its cgroup removed and the $(echo "$procs" | grep -c .) processes it launched ended (left: $(echo $alive)); its guard exited, silent" \
			bash -c "[[ ! -d '$cg' && -z '$alive' && -n '$guard' && -z '$galive' ]] && ! grep -q 'ended without removing' '$err'"
	fi
done

# 2. Target churn: 100 processes exec'd one after another into a cgroup iogap traces
N=100 K=13
mkdir "$par/churn"
echo data >"$tmp/churn.dat"
"$IOGAP" trace -j --cgroup "$par/churn" -o "$tmp/churn.json" 2>"$tmp/churn.err" &
ig=$!
on_exit end_pid $ig
if wait_for_text "$tmp/churn.err" tracing; then
	"$CH" run $N $K "$tmp/churn.dat" "$par/churn/cgroup.procs"
	crc=$?
	kill -INT $ig
	wait $ig
	check "churn: $N processes, each counted from its first syscall (the close after its move): $((2 * N)) closes, $((N * K)) preads, $N exits (churn exit $crc)" $PY -c '
import json, sys
n, k, crc = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
d = json.load(open(sys.argv[1]))
t = d["targets"][0]
sc = t["syscall_counts"]
ops = {f["op"] + "/" + f["fd_kind"]: f["count"] for f in t["file"]}
# the first syscall in the cgroup is the close of cgroup.procs that moved it (tests/bpf/churn.c
# run), before the execve; the second close ends the preads
got = (sc.get("close"), ops.get("pread/file"), sc.get("pread64"), ops.get("openat/file"), sc.get("execve"), sc.get("exit_group"), t["exits"], len(t["pids"]), d["drops"])
want = (2 * n, n * k, n * k, n, n, n, n, n, 0)
print("close, pread/file, pread64, openat/file, execve, exit_group, exits, pids, drops:", got, "want", want)
assert crc == 0 and got == want' "$tmp/churn.json" $N $K $crc
else
	not_ok "churn: iogap did not start"
	sed 's/^/# /' "$tmp/churn.err"
fi
rmdir "$par/churn"

# 2b. A traced process's new threads, made on the CPU a bystander's threads just left: with the
# struct of a bystander's thread freed and reused for a target's (the kernel's slab hands back
# the last one freed, most rounds), sys_enter's per-CPU cache of "no target" must not take the
# new thread for the old one (bpf/syscalls.bpf.c, exit_epoch). Ground truth: tests/bpf/churn.c
# reuse, N threads of exactly K getppid; the bystander's own getppid are not the target's.
N=100 K=7
mkfifo "$tmp/reuse.gate"
exec 5<>"$tmp/reuse.gate"
"$CH" reuse $N $K <"$tmp/reuse.gate" >"$tmp/reuse.pid" &
cr=$!
on_exit end_pid $cr
for _ in $(seq 50); do [[ -s $tmp/reuse.pid ]] && break; sleep 0.1; done
"$IOGAP" trace -j -p "$(cat "$tmp/reuse.pid")" -o "$tmp/reuse.json" 2>"$tmp/reuse.err" &
ig=$!
on_exit end_pid $ig
if wait_for_text "$tmp/reuse.err" tracing; then
	echo go >&5
	wait $cr
	crc=$?
	for _ in $(seq 50); do kill -0 $ig 2>/dev/null || break; sleep 0.1; done   # it ends with its target
	kill -INT $ig 2>/dev/null
	wait $ig
	check "churn: $N threads made where a bystander's thread just ended, each counted: $((N * K)) getppid (churn exit $crc)" $PY -c '
import json, sys
n, k, crc = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
d = json.load(open(sys.argv[1]))
t = d["targets"][0]
got = (t["syscall_counts"].get("getppid"), d["drops"])
print("getppid, drops:", got, "want", (n * k, 0))
assert crc == 0 and got == (n * k, 0)' "$tmp/reuse.json" $N $K $crc
else
	not_ok "churn: iogap did not start on the reuse workload"
	sed 's/^/# /' "$tmp/reuse.err"
fi
exec 5>&-

# compare_wl OUT.json TARGET REPORT.json: TARGET's counts of every operation the static workload
# reports equal its report's
cat >"$tmp/compare_wl.py" <<'PYEOF'
import json, sys
out, name, rep = json.load(open(sys.argv[1])), sys.argv[2], json.load(open(sys.argv[3]))["count"]
ts = [t for t in out["targets"] if t["name"] == name]
assert len(ts) == 1, [t["name"] for t in out["targets"]]
got = {f["op"] + "/" + f["fd_kind"]: f["count"] for f in ts[0]["file"]}
bad = [f"{k}: iogap {got.get(k, 0)}, workload {v}" for k, v in rep.items() if got.get(k, 0) != v]
print("\n".join(bad) or f"{name}: {len(rep)} operations equal, exits {ts[0]['exits']}")
sys.exit(1 if bad or ts[0]["exits"] != 1 or out["drops"] else 0)
PYEOF

# stopped PID: waits until the process stopped itself
stopped() { for _ in $(seq 100); do grep -q '^State:.*T' /proc/$1/status 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# 3. Two --pid targets; the first ends, the second only starts then; then iogap ends by itself
mkdir -p "$tmp/pa" "$tmp/pb"
"$WL" --stop "$tmp/pa" "$tmp/pa/r.json" &
pa=$!
"$WL" --stop "$tmp/pb" "$tmp/pb/r.json" &
pb=$!
on_exit end_pid $pa
on_exit end_pid $pb
stopped $pa && stopped $pb
"$IOGAP" record -o "$tmp/pids.iogap" --json -i 200ms -p $pa -p $pb >"$tmp/pids.json" 2>"$tmp/pids.err" &
ig=$!
on_exit end_pid $ig
if wait_for_text "$tmp/pids.err" tracing; then
	base=$(ls "/proc/$ig/fd" | wc -l)     # the descriptors iogap holds without SQLite (for 3b)
	kill -CONT $pa
	wait $pa
	sleep 1
	kill -0 $ig 2>/dev/null
	check "a target that ends mid-run: iogap goes on tracing the other (still running 1 s later)" test $? -eq 0
	kill -CONT $pb
	wait $pb
	for _ in $(seq 50); do kill -0 $ig 2>/dev/null || break; sleep 0.1; done
	kill -0 $ig 2>/dev/null && { not_ok "all targets gone: iogap did not end by itself within 5 s"; kill -INT $ig; }
	wait $ig
	rc=$?
	check "all targets gone: iogap ends by itself, exit $rc, the summary printed" \
		bash -c "[[ $rc -eq 0 ]] && $PY -c 'import json, sys; assert len(json.load(open(sys.argv[1]))[\"targets\"]) == 2' '$tmp/pids.json'"
	check "the target that ended: its counts exact, its exit counted" $PY "$tmp/compare_wl.py" "$tmp/pids.json" "workload[$pa]" "$tmp/pa/r.json"
	check "the target traced after the other ended: its counts exact" $PY "$tmp/compare_wl.py" "$tmp/pids.json" "workload[$pb]" "$tmp/pb/r.json"
	"$IOGAP" report "$tmp/pids.iogap" >"$tmp/pids.txt" 2>&1
	check "the text report says each exited" bash -c "grep -q '^workload\[$pa\] (pid): 1 process, .*, 1 exited$' '$tmp/pids.txt' &&
		grep -q '^workload\[$pb\] (pid): 1 process, .*, 1 exited$' '$tmp/pids.txt'"
	check "each end said when it happened: 'iogap: +T s target workload[$pa] ended: its 1 process exited (1 of 2 targets left)', then workload[$pb]'s (0 of 2)" \
		bash -c '[[ $(grep " ended: " "$1" | sed "s/+[0-9.]*s/+Ts/") == "iogap: +Ts target workload[$2] ended: its 1 process exited (1 of 2 targets left)
iogap: +Ts target workload[$3] ended: its 1 process exited (0 of 2 targets left)" ]] || { cat "$1"; exit 1; }' _ "$tmp/pids.err" $pa $pb
else
	not_ok "two --pid targets: iogap did not start"
	sed 's/^/# /' "$tmp/pids.err"
fi

# 3b. SQLite in one process after another, iogap started with a low soft limit on descriptors
# (each uprobe holds two until the end: 32 per SQLite process): every process is attached
[[ ${base:-0} -gt 0 ]] || base=100
mkdir -p "$tmp/fdl"
(ulimit -S -n $((base + 40)) && exec timeout 120 "$IOGAP" trace -j -o "$tmp/fdl.json" -- sh -c \
	"for i in 1 2 3; do $SQ write $tmp/fdl/db\$i $tmp/fdl/rep\$i.json --journal wal || exit 1; done") 2>"$tmp/fdl.err"
rc=$?
check "SQLite in 3 processes under a soft limit of $((base + 40)) descriptors: every statement counted (exit $rc)" $PY - \
	"$tmp/fdl.json" "$tmp"/fdl/rep{1,2,3}.json <<'PYEOF'
import json, sys
out = json.load(open(sys.argv[1]))
key = lambda sql: "".join(sql.split()).lower()
want = {}
for f in sys.argv[2:]:
    for sql, w in json.load(open(f))["statements"].items():
        want[key(sql)] = want.get(key(sql), 0) + w["count"]
st = {key(s["sql"]): s["count"] for s in (out["targets"][0].get("sqlite") or {}).get("statements", [])}
bad = [f"{sql!r}: iogap {st.get(sql)}, workloads {n}" for sql, n in want.items() if st.get(sql) != n]
print("\n".join(bad) or f"{len(want)} templates of 3 processes equal")
sys.exit(1 if bad else 0)
PYEOF
[[ $rc -eq 0 ]] || sed 's/^/# /' "$tmp/fdl.err" | tail -5

# 4. Two iogap instances on one process: one by its cgroup, one by --pid, both attached (SQLite
# uprobes too) while it is stopped
mkdir "$par/two" "$tmp/two"
setsid bash -c 'echo $$ >"$1/cgroup.procs" && exec "$2" --stop script "$3/db" "$3/rep.json"' _ "$par/two" "$SQ" "$tmp/two" \
	</dev/null >/dev/null 2>&1 &
for _ in $(seq 100); do p=$(cat "$par/two/cgroup.procs"); [[ -n $p ]] && stopped "$p" && break; sleep 0.05; done
"$IOGAP" trace -j --cgroup "$par/two" -o "$tmp/two-a.json" 2>"$tmp/two-a.err" &
ia=$!
on_exit end_pid $ia
"$IOGAP" trace -j -p "$p" -o "$tmp/two-b.json" 2>"$tmp/two-b.err" &
ib=$!
on_exit end_pid $ib
if wait_for_text "$tmp/two-a.err" tracing && wait_for_text "$tmp/two-b.err" tracing; then
	kill -CONT "$p"
	for _ in $(seq 200); do kill -0 $ib 2>/dev/null || break; sleep 0.1; done
	kill -INT $ia
	wait $ia
	ra=$?
	wait $ib
	rb=$?
	check "two instances at once: both exit 0 (got $ra, $rb)" test $ra -eq 0 -a $rb -eq 0
	check "two instances: each counts every statement exactly, and the same syscalls as the other" $PY - \
		"$tmp/two-a.json" "$tmp/two-b.json" "$tmp/two/rep.json" <<'PYEOF'
import json, sys
a, b, rep = (json.load(open(f)) for f in sys.argv[1:4])
key = lambda sql: "".join(sql.split()).lower()
bad = []
for name, d in (("cgroup", a), ("pid", b)):
    t = d["targets"][0]
    st = {key(s["sql"]): s["count"] for s in (t.get("sqlite") or {}).get("statements", [])}
    bad += [f"{name}: {sql!r} iogap {st.get(key(sql))}, workload {w['count']}" for sql, w in rep["statements"].items() if st.get(key(sql)) != w["count"]]
    if d["drops"]:
        bad.append(f"{name}: drops {d['drops']}")
ta, tb = a["targets"][0], b["targets"][0]
if ta["syscall_counts"] != tb["syscall_counts"]:
    bad.append(f"syscall counts differ: {ta['syscall_counts']} vs {tb['syscall_counts']}")
oa = {(f["op"], f["fd_kind"]): f["count"] for f in ta["file"]}
ob = {(f["op"], f["fd_kind"]): f["count"] for f in tb["file"]}
if oa != ob:
    bad.append(f"I/O counts differ: {oa} vs {ob}")
print("\n".join(bad) or f"{len(rep['statements'])} templates equal in both, {ta['syscalls']} syscalls in both")
sys.exit(1 if bad else 0)
PYEOF
else
	not_ok "two instances: one did not start"
	sed 's/^/# /' "$tmp/two-a.err" "$tmp/two-b.err"
fi
kill_cgroup "$par/two"

# 5. The ring buffer overflowed on purpose: iogap stopped while its target makes N open events
N=20000
rb=$(($(awk '/define IOGAP_RINGBUF_BYTES/ { $1 = $2 = ""; print }' "$ROOT/bpf/iogap.h")))
pm=$(awk '/define IOGAP_PATH_MAX/ { print $3 }' "$ROOT/bpf/syscalls.h")
cap=$((rb / (8 + 48 + pm)))      # a record: 8-byte header + struct file_open_event (48 + path)
mkdir "$par/ovf"
"$IOGAP" record -o "$tmp/ovf.iogap" --json --cgroup "$par/ovf" >"$tmp/ovf.json" 2>"$tmp/ovf.err" &
ig=$!
on_exit end_pid $ig
if wait_for_text "$tmp/ovf.err" tracing; then
	kill -STOP $ig
	bash -c 'echo $$ >"$1/cgroup.procs" && exec "$2" opens "$3" "$4"' _ "$par/ovf" "$CH" $N "$tmp/churn.dat"
	kill -CONT $ig
	sleep 0.3
	kill -INT $ig
	wait $ig
	check "ring buffer overflow: JSON drops between $((N - cap)) and $((N + 2)) ($N opens, room for $cap events), lost.ringbuf the same, every open still counted" $PY -c '
import json, sys
d, lo, hi, n = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ops = {f["op"] + "/" + f["fd_kind"]: f["count"] for f in d["targets"][0]["file"]}
print("drops", d["drops"], "lost", d["lost"]["ringbuf"], "openat/file", ops.get("openat/file"))
assert lo <= d["drops"] <= hi and d["lost"]["ringbuf"] == d["drops"] and ops.get("openat/file") == n' \
		"$tmp/ovf.json" $((N - cap)) $((N + 2)) $N
	drops=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["drops"])' "$tmp/ovf.json")
	"$IOGAP" report "$tmp/ovf.iogap" >"$tmp/ovf.txt" 2>&1
	check "ring buffer overflow: the text report says '$drops EVENTS DROPPED (ring buffer full)'" \
		grep -q "^iogap .* $drops EVENTS DROPPED (ring buffer full)" "$tmp/ovf.txt"
	"$IOGAP" report "$tmp/ovf.iogap" --json >"$tmp/ovf-rep.json" 2>&1
	check "ring buffer overflow: the recording's JSON has the same drops" $PY -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["drops"] == b["drops"] > 0 and a["lost"] == b["lost"], (a["drops"], b["drops"])' "$tmp/ovf.json" "$tmp/ovf-rep.json"
else
	not_ok "ring buffer overflow: iogap did not start"
	sed 's/^/# /' "$tmp/ovf.err"
fi
rmdir "$par/ovf"

# 5b. A full map is counted too: 5000 transactions in DELETE journal mode make 5000 journals
# (a new inode each), more than the 4096 entries of fsyncs-inside-SQLite by file; every fsync
# is either attributed to its file or counted lost. tmpfs: its fsyncs cost nothing.
shm=/dev/shm/iogap-rel-$$
on_exit rm -f "$shm.db" "$shm.db-journal"
timeout 60 "$IOGAP" trace -j -o "$tmp/sqf.json" -- "$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=DELETE")
db.execute("CREATE TABLE t(a)")
for i in range(5000):
    db.execute("BEGIN"); db.execute("INSERT INTO t VALUES (1)"); db.execute("COMMIT")' "$shm.db" 2>"$tmp/sqf.err"
rc=$?
check "fsyncs inside SQLite past the by-file map's 4096 entries: by file + lost.sqlite_map_full = all fsyncs (exit $rc)" \
	$PY - "$tmp/sqf.json" $rc <<'PYEOF'
import json, sys
d, rc = json.load(open(sys.argv[1])), int(sys.argv[2])
t = d["targets"][0]
ops = {f["op"] + "/" + f["fd_kind"]: f["count"] for f in t["file"]}
syncs = ops.get("fsync/file", 0) + ops.get("fdatasync/file", 0)
by_file = sum(f["count"] for f in t["sqlite"]["fsync_by_file"])
lost = d["lost"]["sqlite_map_full"]
print(f"{syncs} fsyncs, {by_file} by file in {len(t['sqlite']['fsync_by_file'])} paths, {lost} counted lost")
assert rc == 0 and syncs >= 5000 and lost > 0 and by_file + lost == syncs
PYEOF

# 5c. Statement texts past the 8192 that have figures (sq_index, sq_stats): 300 distinct
# "SELECT n" (the first 256 keep their histograms in array rows, the rest in the sparse hash),
# then 8700 distinct "SELECT n, n" (all past the rows; the last 808 past sq_stats), each
# fetched whole: two steps (its row, then SQLITE_DONE), in memory, on one thread (so the texts
# are numbered in order), recorded. Ground truth: the program's own 18000 steps and 9000
# executions. The 808 texts with no entry lose their 1616 steps, counted lost; every text with
# figures has as many step and statement latencies in its histograms (the recording's) as steps
# and ended executions, from the rows and from the hash alike.
timeout 120 "$IOGAP" record -o "$tmp/sqs.iogap" -- "$PY" -c '
import sqlite3
db = sqlite3.connect(":memory:")
for i in range(300):
    assert db.execute("SELECT %d" % i).fetchall() == [(i,)]
for i in range(8700):
    assert db.execute("SELECT %d, %d" % (i, i)).fetchall() == [(i, i)]' 2>"$tmp/sqs.err"
rc=$?
"$IOGAP" report "$tmp/sqs.iogap" --json >"$tmp/sqs.json" 2>&1
check "statement texts past sq_stats' 8192 entries: 16384 steps in figures, 1616 counted lost (lost.sqlite_map_full), of the 18000 made (exit $rc)" \
	$PY - "$tmp/sqs.json" $rc <<'PYEOF'
import json, sys
d, rc = json.load(open(sys.argv[1])), int(sys.argv[2])
sts = {s["sql"]: s for s in d["targets"][0]["sqlite"]["statements"]}   # by template
steps, lost = sum(s["steps"] for s in sts.values()), d["lost"]["sqlite_map_full"]
print(f"templates {sorted(sts)}: {steps} steps, {lost} counted lost")
assert rc == 0 and sts["SELECT ?"]["steps"] == 600 and steps == 16384 and lost == 1616
PYEOF
check "statement histograms, from array rows (texts 1-256) and the sparse hash (257-8192): as many latencies as steps and as ended executions, per text" \
	$PY - "$tmp/sqs.iogap" <<'PYEOF'
import json, struct, sys, zlib
b, off, per = open(sys.argv[1], "rb").read(), 8, {}
while off + 24 <= len(b):
    clen = struct.unpack_from("<I", b, off + 8)[0]
    c = json.loads(zlib.decompress(b[off + 24:off + 24 + clen]))
    off += 24 + clen
    for t in c.get("delta", {}).get("targets", []):
        for s in (t.get("sqlite") or {}).get("statements", []):
            p = per.setdefault(s["hash"], [0, 0, 0, 0])
            p[0] += s.get("steps", 0)
            p[1] += sum(sum(run[1:]) for run in s.get("step_hist", []))
            p[2] += s.get("stmt_ended", 0)
            p[3] += sum(sum(run[1:]) for run in s.get("stmt_hist", []))
bad = [h for h, p in per.items() if p[0] != p[1] or p[2] != p[3]]
print(f"{len(per)} texts, {sum(p[0] for p in per.values())} steps, {len(bad)} whose histograms differ")
assert len(per) == 8192 and not bad and all(p == [2, 2, 1, 1] for p in per.values())
PYEOF

# 6. tracefs not mounted: iogap mounts it, in its own mount namespace only
before=$(grep ' - tracefs ' /proc/self/mountinfo)
# shellcheck disable=SC2016 # expanded by the inner bash
unshare -m --propagation private bash -c 'umount /sys/kernel/tracing && ! grep -q " - tracefs " /proc/self/mountinfo &&
	"$1" trace -o /dev/null -d 0.2 -- true 2>"$2/tfs.err"; echo $? >"$2/tfs.rc"; grep -c " /sys/kernel/tracing .* - tracefs " /proc/self/mountinfo >"$2/tfs.n"' \
	_ "$IOGAP" "$tmp"
check "tracefs not mounted: exit 0, 'iogap: tracefs was not mounted; mounted it at /sys/kernel/tracing', mounted there" \
	bash -c "[[ \$(cat $tmp/tfs.rc) == 0 && \$(head -1 $tmp/tfs.err) == 'iogap: tracefs was not mounted; mounted it at /sys/kernel/tracing' && \$(cat $tmp/tfs.n) == 1 ]]"
check "tracefs: nothing changed outside the namespace" test "$(grep ' - tracefs ' /proc/self/mountinfo)" = "$before"

# expect RC LINE ARGS...: iogap ARGS exits RC and its first line on stderr is exactly LINE.
# Optional: expect_out, where its stdout goes (default $tmp/msg.out); expect_line, the line of
# stderr to check (a sed address: '$' is the last); expect_via (an array), a command iogap is
# run through, and expect_how, what it does (said in the test's name)
expect_via=()
expect_how=
expect() {
	local code=$1 line=$2 rc got shown
	shift 2
	timeout 30 ${expect_via[@]+"${expect_via[@]}"} "$IOGAP" "$@" </dev/null >"${expect_out:-$tmp/msg.out}" 2>"$tmp/msg.err"
	rc=$?
	got=$(sed -n "${expect_line:-1}p" "$tmp/msg.err")
	# a run of -p PID said as its first and last
	shown=$(sed -E 's/-p ([0-9]+)( -p [0-9]+)+ -p ([0-9]+)/-p \1 ... -p \3/' <<<"$*")
	if [[ $rc -eq $code && $got == "$line" ]]; then
		ok "${expect_how:+$expect_how: }iogap $shown -> $code: $line"
	else
		not_ok "${expect_how:+$expect_how: }iogap $shown -> exit $rc (want $code): '$got' (want '$line')"
		sed 's/^/# /' "$tmp/msg.err" | head -10
	fi
}
# recordings to read: the two-pid one, cut; an empty file; a header of a newer major format
$PY - "$tmp/pids.iogap" "$tmp" >"$tmp/cuts.txt" <<'PYEOF'
import json, struct, sys, zlib
src, d = sys.argv[1], sys.argv[2]
b = open(src, "rb").read()
chunks, off = [], 8
while off + 24 <= len(b):
    typ, clen = b[off + 4], struct.unpack_from("<I", b, off + 8)[0]
    chunks.append((off, typ, clen, zlib.decompress(b[off + 24:off + 24 + clen])))
    off += 24 + clen
# cut in the middle of the third chunk (the second interval): one interval left
at, _, clen, _ = chunks[2]
cut = at + 24 + clen // 2
open(f"{d}/cut.iogap", "wb").write(b[:cut])
t = json.loads(chunks[1][3])["t_ns"]
print(f"{at} {cut - at} {t / 1e9:.1f}")
open(f"{d}/cuthdr.iogap", "wb").write(b[:20])
open(f"{d}/short.iogap", "wb").write(b[:5])
open(f"{d}/empty.iogap", "wb").write(b"")
hdr = json.dumps({"format_major": 2, "format_minor": 0, "iogap": "9.0.0"}).encode()
z = zlib.compress(hdr)
h = b"IOGC" + struct.pack("<BBHIII", 1, 0, 0, len(z), len(hdr), zlib.crc32(z))
open(f"{d}/newer.iogap", "wb").write(b"IOGAPREC" + h + struct.pack("<I", zlib.crc32(h)) + z)
PYEOF
read -r cut_at cut_left cut_t <"$tmp/cuts.txt"
# corrupt recordings, each made from the two-pid one (header H, intervals I1..In, trailer T) with
# valid CRCs wherever the point is another defect; corrupt-want.json holds, for each, the figures
# of what stays readable: T's total where T is read, else the sum of the intervals left
# (duration and each target's syscalls), so a report that lost more than the bad part differs
$PY - "$tmp/pids.iogap" "$tmp" >"$tmp/corrupt.txt" <<'PYEOF'
import json, struct, sys, zlib
src, d = sys.argv[1], sys.argv[2]
b = open(src, "rb").read()
chunks, off = [], 8
while off + 24 <= len(b):
    clen = struct.unpack_from("<I", b, off + 8)[0]
    raw = b[off:off + 24 + clen]
    chunks.append((raw, json.loads(zlib.decompress(raw[24:]))))
    off += 24 + clen
types = [c[0][4] for c in chunks]
assert off == len(b) and len(types) >= 5 and types == [1] + [2] * (len(types) - 2) + [3], types
mag, hdr, ivs, trl = b[:8], chunks[0][0], [c[0] for c in chunks[1:-1]], chunks[-1][0]
deltas = [c[1]["delta"] for c in chunks[1:-1]]

def chunk(typ, z, ulen):
    h = b"IOGC" + struct.pack("<BBHIII", typ, 0, 0, len(z), ulen, zlib.crc32(z))
    return h + struct.pack("<I", zlib.crc32(h)) + z

def jchunk(typ, obj):
    p = json.dumps(obj).encode()
    return chunk(typ, zlib.compress(p), len(p))

def figures(models):
    dur, sc = 0, {}
    for m in models:
        dur += m["duration_ns"]
        for t in m["targets"]:
            sc[t["name"]] = sc.get(t["name"], 0) + t["syscalls"]
    return {"duration_ns": dur, "syscalls": sc}

whole = figures([chunks[-1][1]["total"]])
but2 = figures(deltas[:1] + deltas[2:])          # every interval but I2, the one made corrupt
at2 = len(mag + hdr + ivs[0])                    # I2's offset
tail = b"".join(ivs[2:])
end_t = lambda i: f"{chunks[1 + i][1]['t_ns'] / 1e9:.1f}"
last_t = end_t(len(ivs) - 1)
want = {}

def put(name, data, fig, **v):
    open(f"{d}/{name}.iogap", "wb").write(data)
    want[name] = fig
    for k, x in v.items():
        print(f"{name}_{k}={x}")

clen2, ulen2 = struct.unpack_from("<II", ivs[1], 8)
# H I1 H I2.. T: a second header
put("hdr2", mag + hdr + ivs[0] + hdr + b"".join(ivs[1:]) + trl, whole, at=at2)
# I2's payload not zlib (no trailer: the intervals before and after it make the total)
put("zbad", mag + hdr + ivs[0] + chunk(2, (b"not zlib" * clen2)[:clen2], ulen2) + tail, but2, at=at2)
# I2 is zlib of [1] (the trailer then counts one interval more than were read)
put("json", mag + hdr + ivs[0] + chunk(2, zlib.compress(b"[1]"), 3) + tail + trl, whole, at=at2,
    n=len(ivs), read=len(ivs) - 1)
# I2's t_ns a string that is no number
put("contents", mag + hdr + ivs[0] + jchunk(2, dict(chunks[2][1], t_ns="soon")) + tail, but2, at=at2)
# a byte of I2's payload flipped, its CRC not
flip = bytearray(ivs[1])
flip[24 + clen2 // 2] ^= 0xff
put("crc", mag + hdr + ivs[0] + bytes(flip) + tail, but2, at=at2)
# a chunk of type 9 between I1 and I2
put("unknown", mag + hdr + ivs[0] + jchunk(9, {}) + b"".join(ivs[1:]) + trl, whole, at=at2)
junk = b"x" * 40
# 40 bytes of no chunk between I1 and I2, at the end without a trailer, after the trailer
put("mid", mag + hdr + ivs[0] + junk + b"".join(ivs[1:]) + trl, whole, at=at2, n=len(junk))
put("tail", mag + hdr + b"".join(ivs) + junk, figures(deltas), at=len(mag + hdr + b"".join(ivs)), n=len(junk))
put("after", b + junk, whole, at=len(b), n=len(junk))
# no header chunk; only the magic
put("nohdr", mag + b"".join(ivs) + trl, whole)
put("magic", mag, None)
# between I1 and I2 a chunk whose JSON (10 MB of spaces, at deflate's best ratio) would take
# more than a file of its size may stand for (256 MiB + 1024 times its size, 32 bytes a JSON byte):
# neither it nor what follows is read; I1 is
big = zlib.compress(b" " * 10_000_000, 9)
data = mag + hdr + ivs[0] + chunk(2, big, 10_000_000) + b"".join(ivs[1:]) + trl
assert 10_000_000 > ((256 << 20) + 1024 * len(data)) // 32, len(data)
put("big", data, figures(deltas[:1]), at=at2, len=len(data), mib=256 + (len(data) >> 10), t=end_t(0))
print(f"last_t={last_t}")
json.dump(want, open(f"{d}/corrupt-want.json", "w"))
PYEOF
[[ $? -eq 0 ]] || not_ok "corrupt recordings made from $tmp/pids.iogap"
declare -A bad   # offsets and sizes in the corrupt recordings, by NAME_WHAT
while IFS="=" read -r k v; do bad[$k]=$v; done <"$tmp/corrupt.txt"
echo "just text" >"$tmp/text.iogap"
true &
dead=$!
wait $dead
usage_try="try 'iogap --help'"
expect 2 "iogap: no command given"
expect 2 "iogap: unknown command 'frobnicate'" frobnicate
expect 2 "iogap: nothing to trace (give -p PID, --cgroup PATH, --container NAME, --all-containers or -- CMD)" trace
check "a usage error ends with '$usage_try'" bash -c "[[ \$(sed -n 2p '$tmp/msg.err') == \"$usage_try\" ]]"
expect 2 "iogap: invalid PID 'abc'" trace -p abc
expect 2 "iogap: invalid PID '0'" trace -p 0
expect 2 "iogap: option '-p' needs an argument" trace -p
expect 2 "iogap: option '--pid' needs an argument" trace --pid
expect 2 "iogap: unknown option '--bogus'" trace --bogus -p 1
expect 2 "iogap: unknown option '-x'" trace -p 1 -x
expect 2 "iogap: empty container name" trace -c ''
expect 2 "iogap: empty cgroup path" trace --cgroup ''
expect 2 "iogap: interval '5ms' is below 10ms" trace -i 5ms -p 1
expect 2 "iogap: invalid interval 'x' (e.g. 1s, 500ms)" trace -i x -p 1
expect 2 "iogap: invalid duration '0' (e.g. 10, 30s, 2m)" trace -d 0 -p 1
expect 2 "iogap: empty output file name" trace -o '' -p 1
expect 2 "iogap: invalid --top-files '0'" trace --top-files 0 -p 1
expect 2 "iogap: unexpected argument 'foo' (put a command after --)" trace foo
expect 2 "iogap: no command after --" trace -p 1 --
expect 2 "iogap: too many targets (at most 64)" trace $(for i in $(seq 65); do echo -p $i; done)
expect 2 "iogap: empty --html file name" report x --html ''
if "$IOGAP" --help | grep -q -- --modules; then
	expect 2 "iogap: unknown module 'bogus' in --modules 'file,bogus' (file, sqlite, net, budget)" trace --modules file,bogus -p 1
	expect 2 "iogap: --modules 'sqlite' lacks file (the syscall module is always on)" trace --modules sqlite -p 1
fi
expect 2 "iogap: record needs -o FILE (the recording to write)" record -p 1
expect 2 "iogap: invalid --prometheus 'nocolon' (give ADDR:PORT, e.g. 127.0.0.1:9464)" top --prometheus nocolon -p 1
expect 1 "iogap: cannot listen on 999.1.1.1:80: Name or service not known" top --prometheus 999.1.1.1:80 -p 1
# a port another process listens on (ground truth: that process's own socket)
$PY -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$tmp/held.port" &
holder=$!
on_exit end_pid $holder
wait_for_text "$tmp/held.port" '^[0-9]'
held=$(cat "$tmp/held.port")
expect 1 "iogap: cannot listen on 127.0.0.1:$held: Address already in use" top --prometheus 127.0.0.1:$held -p 1
end_pid $holder
expect 1 "iogap: cannot write /no/such/dir/out: No such file or directory" trace -o /no/such/dir/out -p 1
expect 1 "iogap: cannot trace pid $dead: no such process" trace -p $dead -d 1
expect 1 "iogap: cannot trace cgroup /no-such-cgroup-iogap: No such file or directory (give a directory below $cgmnt)" trace --cgroup /no-such-cgroup-iogap -d 1
expect 1 "iogap: cannot trace container no-such-ctr-$$: no container named or with id 'no-such-ctr-$$' (iogap ps lists them)" trace --container no-such-ctr-$$ -d 1
expect 127 "iogap: cannot run no-such-command-iogap: command not found in PATH" trace -- no-such-command-iogap
expect 126 "iogap: cannot run $tmp/text.iogap: not an executable file" trace -- "$tmp/text.iogap"
expect 1 "iogap: cannot load BPF programs: kernel BTF not found at /no/such/file: No such file or directory (iogap needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, or a valid --btf FILE)" trace --btf /no/such/file -p 1 -d 1
expect 1 "iogap: cannot write /no/such/dir/r.iogap: No such file or directory" record -o /no/such/dir/r.iogap -p $$ -d 1
expect 2 "iogap: unexpected argument 'extra' (iogap ps [--json] lists every container)" ps extra
expect 2 "iogap: report needs one recording (iogap report FILE [--json | --html OUT])" report
expect 2 "iogap: report needs one recording (iogap report FILE [--json | --html OUT])" report a b
expect 1 "iogap: cannot read /no/such/file: No such file or directory" report /no/such/file
expect 1 "iogap: cannot read $tmp: Is a directory" report "$tmp"
expect 1 "iogap: cannot read $tmp/text.iogap: not an iogap recording (bad magic)" report "$tmp/text.iogap"
expect 1 "iogap: cannot read $tmp/empty.iogap: empty file, not an iogap recording" report "$tmp/empty.iogap"
expect 1 "iogap: cannot read $tmp/short.iogap: truncated at byte 5, before its header: nothing was recorded" report "$tmp/short.iogap"
expect 1 "iogap: cannot read $tmp/cuthdr.iogap: nothing readable in it: truncated at byte 8: the last 12 bytes (an incomplete chunk) were lost; 0 complete intervals read" report "$tmp/cuthdr.iogap"
expect 1 "iogap: cannot read $tmp/newer.iogap: recording format 2.x is newer than this iogap reads (1.x): upgrade iogap" report "$tmp/newer.iogap"
expect 0 "iogap: $tmp/cut.iogap: truncated at byte $cut_at: the last $cut_left bytes (an incomplete chunk) were lost; 1 complete intervals read" report "$tmp/cut.iogap" --json
check "a truncated recording: then 'recording has no trailer ... figures end at +$cut_t s'" bash -c "[[ \$(sed -n 2p '$tmp/msg.err') == \"iogap: $tmp/cut.iogap: recording has no trailer: iogap was killed or the disk filled; figures end at +$cut_t s\" ]]"
expect 1 "iogap: cannot write /no/such/dir/r.html: No such file or directory" report "$tmp/pids.iogap" --html /no/such/dir/r.html
expect 1 "iogap: cannot write /dev/full: No space left on device" report "$tmp/pids.iogap" --html /dev/full
expect_out=/dev/full expect 1 "iogap: cannot write the summary: No space left on device" report "$tmp/pids.iogap"
expect_out=/dev/full expect 1 "iogap: cannot write the summary: No space left on device" report "$tmp/pids.iogap" --json
expect 2 "iogap: too many arguments" report 1 2 3 4 5 6 7 8 9
expect 2 "iogap: unexpected argument 'y'" report x -- y
# the corrupt recordings: the problem on the first line, then exactly the rest (each line
# "iogap: FILE: ..."), and in report --json the figures of all that was readable
# expect_rest NAME LINE...: after the last expect on $tmp/NAME.iogap
expect_rest() {
	local name=$1
	shift
	check "$name.iogap: then $# more line(s) on stderr, exactly; in the report the figures of all that was readable (duration, syscalls per target)" \
		$PY - "$tmp/msg.err" "$tmp/msg.out" "$tmp/corrupt-want.json" "$tmp/$name.iogap" "$name" "$@" <<'PYEOF'
import json, sys
err, out, want, path, name = sys.argv[1:6]
lines, rest = open(err).read().splitlines()[1:], [f"iogap: {path}: {l}" for l in sys.argv[6:]]
w = json.load(open(want))[name]
r = json.load(open(out))
nz = lambda sc: {k: v for k, v in sc.items() if v}
got = {"duration_ns": r["duration_ns"], "syscalls": nz({t["name"]: t["syscalls"] for t in r["targets"]})}
w["syscalls"] = nz(w["syscalls"])
print("stderr after the first line:", lines, "want", rest)
print("figures:", got, "want", w)
assert lines == rest and got == w
PYEOF
}
notrl="recording has no trailer: iogap was killed or the disk filled; figures end at +${bad[last_t]} s"
# NAME|the problem (after "iogap: $tmp/NAME.iogap: ")|the line after it, if any
while IFS='|' read -r name first then; do
	expect 0 "iogap: $tmp/$name.iogap: $first" report "$tmp/$name.iogap" --json
	expect_rest "$name" ${then:+"$then"}
done <<CASES
hdr2|a second header chunk at byte ${bad[hdr2_at]}: ignored|
zbad|corrupt chunk at byte ${bad[zbad_at]} (bad compressed data): skipped|$notrl
json|corrupt chunk at byte ${bad[json_at]} (not a JSON object): skipped|the trailer counts ${bad[json_n]} intervals, ${bad[json_read]} were read: the total has the figures of all
contents|corrupt chunk at byte ${bad[contents_at]} (bad contents): skipped|$notrl
crc|corrupt chunk at byte ${bad[crc_at]} (CRC mismatch): skipped|$notrl
unknown|chunk of unknown type 9 (flags 0x0) at byte ${bad[unknown_at]}, from a newer iogap: skipped|
mid|corrupt data at byte ${bad[mid_at]} (no valid chunk header): ${bad[mid_n]} bytes skipped|
tail|corrupt data at byte ${bad[tail_at]} (no valid chunk header): the last ${bad[tail_n]} bytes lost|$notrl
after|${bad[after_n]} bytes after the trailer (at byte ${bad[after_at]}): ignored|
nohdr|the header chunk was lost: the recording's start, host and options are unknown|
big|the chunk at byte ${bad[big_at]} would take more memory than a file of ${bad[big_len]} bytes can stand for (over ${bad[big_mib]} MiB): not read, nor what follows|recording has no trailer: iogap was killed or the disk filled; figures end at +${bad[big_t]} s
CASES
expect 1 "iogap: cannot read $tmp/magic.iogap: nothing readable in it: no chunks" report "$tmp/magic.iogap"
usage="iogap explain FILE A B | FILE1 FILE2 [--target NAME] | --live A B -d TIME [-o FILE]"
expect 2 "iogap: explain needs a recording and two of its targets, or two recordings ($usage)" explain
expect 2 "iogap: explain needs a recording and two of its targets, or two recordings ($usage)" explain "$tmp/pids.iogap"
expect 2 "iogap: explain needs a recording and two of its targets, or two recordings ($usage)" explain "$tmp/pids.iogap" a b c
expect 2 "iogap: /no/such: No such file or directory (two arguments are two recordings; a recording and its targets are FILE A B)" explain "$tmp/pids.iogap" /no/such
expect 2 "iogap: no target 'nosuch' in $tmp/pids.iogap (targets: workload[$pa], workload[$pb])" explain "$tmp/pids.iogap" nosuch "workload[$pb]"
expect 2 "iogap: 'workload[$pa]' and 'workload[$pa]' are the same target of $tmp/pids.iogap: explain compares two" explain "$tmp/pids.iogap" "workload[$pa]" "workload[$pa]"
expect 2 "iogap: which target? $tmp/pids.iogap has workload[$pa], workload[$pb]; $tmp/pids.iogap has workload[$pa], workload[$pb] (give --target NAME)" explain "$tmp/pids.iogap" "$tmp/pids.iogap"
expect 2 "iogap: explain -o FILE keeps the recording of --live; redirect the output to save the explanation" explain -o x "$tmp/pids.iogap" a b
expect 2 "iogap: explain --live needs -d TIME: how long to record ($usage)" explain --live a b
expect 2 "iogap: explain --live takes the two containers to record as A B and no other target ($usage)" explain --live a b -p 1 -d 1
expect 2 "iogap: ambiguous target 'workload' in $tmp/pids.iogap (targets: workload[$pa], workload[$pb])" explain "$tmp/pids.iogap" workload "workload[$pb]"
expect_out=/dev/full expect 1 "iogap: cannot write the explanation: No space left on device" explain "$tmp/pids.iogap" "workload[$pa]" "workload[$pb]"
expect_out=/dev/full expect 1 "iogap: cannot write the explanation: No space left on device" explain "$tmp/pids.iogap" "workload[$pa]" "workload[$pb]" --json
# the temporary recording is made before anything is looked up: any two names reach it
TMPDIR=/no/such expect 1 "iogap: cannot create a temporary recording in /no/such: No such file or directory (set TMPDIR, or keep the recording with -o FILE)" explain --live a b -d 1
expect 127 "iogap: cannot run /no/such: No such file or directory" trace -- /no/such
# a script whose interpreter does not exist: found, but its exec fails (as a shell's, exit 127)
printf '#!/no/such/interp\necho never\n' >"$tmp/interp.sh"
chmod +x "$tmp/interp.sh"
expect 127 "iogap: cannot run $tmp/interp.sh: No such file or directory" trace -o /dev/null -- "$tmp/interp.sh"
# the summary to a file that fills: said last, after "tracing", exit 1 (the command's was 0)
expect_line='$' expect 1 "iogap: cannot write the summary to /dev/full: No space left on device" trace -o /dev/full -d 0.2 -- true
# a file that is not BTF: said in iogap's words (the file named, no libbpf error number, no
# verifier log that does not exist)
expect 1 "iogap: cannot load BPF programs: /etc/passwd is not a BTF file (iogap needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, or a valid --btf FILE)" trace --btf /etc/passwd -o /dev/null -d 1 -p $$
# record -o a device or a FIFO: test_record.sh
# 64 targets given (64 processes of this test's), and one more
sleepers=()
for _ in $(seq 64); do
	sleep 120 &
	sleepers+=($!)
	on_exit end_pid $!
done
sp=()
for p in "${sleepers[@]}"; do sp+=(-p "$p"); done
expect 2 "iogap: too many targets (65, at most 64)" trace "${sp[@]}" -- true
# --host is a target too (now it takes a 65th slot, past the end of iogap's arrays: ASan
# reports a heap-buffer-overflow at add_container_targets, and the host's figures are lost)
expect 2 "iogap: too many targets (65, at most 64)" trace "${sp[@]}" --host -o /dev/null -d 1
# --all-containers with 64 targets given: a container (a cgroup of this test's with a process,
# named to sort before any other cgroup, so it is the first one found) is one too many
ctr="$cgmnt/!iogaptest-rel-$$"
on_exit remove_test_cgroups "$ctr"
if mkdir -p "$ctr/ctr"; then
	bash -c 'echo $$ >"$1/cgroup.procs" && exec sleep 120' _ "$ctr/ctr" &
	cp=$!
	on_exit end_pid $cp
	for _ in $(seq 50); do [[ -n $(cat "$ctr/ctr/cgroup.procs") ]] && break; sleep 0.1; done
	expect 1 "iogap: cannot trace cgroup /${ctr#"$cgmnt"/}/ctr: already 64 targets" trace "${sp[@]}" --all-containers -o /dev/null -d 1
	kill $cp
	wait $cp 2>/dev/null
	remove_test_cgroups "$ctr"
	check "its cgroup and process removed" bash -c "[[ ! -e '$ctr' ]] && ! kill -0 $cp 2>/dev/null"
else
	not_ok "cannot create $ctr/ctr"
fi
kill "${sleepers[@]}" 2>/dev/null
wait "${sleepers[@]}" 2>/dev/null
# what is missing from the machine, in private mount namespaces (the host's mounts unchanged):
# tracefs that cannot be mounted (iogap runs as root without CAP_SYS_ADMIN, as in a container),
# no kernel BTF, no cgroup2 mount (then -p PID, as the message says, still works)
sys_mounts() { awk '$5 ~ /^\/sys\// { for (i = 7; i < NF; i++) if ($i == "-") print $5, $(i + 1) }' /proc/self/mountinfo | sort; }
mounts_before=$(sys_mounts)
private=(unshare -m --propagation private bash -c)
expect_how="tracefs unmounted, CAP_SYS_ADMIN dropped"
expect_via=("${private[@]}" 'umount /sys/kernel/tracing && exec setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$@"' _)
expect 1 "iogap: cannot use tracepoints: tracefs is not mounted and mounting it failed: Operation not permitted (run: mount -t tracefs nodev /sys/kernel/tracing)" trace -o /dev/null -d 1 -- true
expect_how="a tmpfs over /sys/kernel/btf"
expect_via=("${private[@]}" 'mount -t tmpfs none /sys/kernel/btf && exec "$@"' _)
expect 1 "iogap: cannot load BPF programs: kernel BTF not found at /sys/kernel/btf/vmlinux: No such file or directory (iogap needs a kernel built with CONFIG_DEBUG_INFO_BTF=y)" trace -o /dev/null -d 1 -p $$
expect_how="no cgroup2 mount"
# shellcheck disable=SC2016 # expanded by the inner bash
expect_via=("${private[@]}" 'for m in $(awk "/ - cgroup2 / { print \$5 }" /proc/self/mountinfo | tac); do umount "$m" || exit 9; done
	! grep -q " - cgroup2 " /proc/self/mountinfo && exec "$@"' _)
expect 1 "iogap: cannot find the cgroup v2 mount in /proc/self/mountinfo: No such file or directory (a cgroup-v1-only host has no container cgroups iogap can list; trace processes with -p PID)" ps
expect 1 "iogap: cannot find the cgroup v2 mount in /proc/self/mountinfo: No such file or directory (a cgroup-v1-only host: --cgroup, --container and -- CMD need cgroup v2; use -p PID, which follows a process and its children in any PID namespace)" trace -o /dev/null -d 1 -- true
expect 0 "iogap: tracing 1 target (Ctrl-C to end)" trace -o /dev/null -d 0.2 -p $$
expect_via=()
expect_how=
check "private mount namespaces: the host's mounts below /sys unchanged" test "$(sys_mounts)" = "$mounts_before"
# not root: refused before anything is loaded
if id nobody >/dev/null 2>&1; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$IOGAP" trace -p 1 -d 1 >/dev/null 2>"$tmp/nobody.err"
	rc=$?
	check "not root: exit 1, 'iogap: cannot trace: must run as root (loading BPF programs needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN; try: sudo iogap ...)'" \
		bash -c "[[ $rc -eq 1 && \$(cat '$tmp/nobody.err') == 'iogap: cannot trace: must run as root (loading BPF programs needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN; try: sudo iogap ...)' ]]"
else
	skip "not root: refused" "no user nobody"
fi
# inside a PID namespace of its own (unshare -p): refused, as its PIDs are not the programs'
# (before, a launched command stayed held forever); the namespace ends with its only process
msg="iogap: cannot trace from inside a PID namespace (the BPF programs see the host's PIDs): run iogap in the host's"
timeout -k 5 20 unshare -p -f --mount-proc "$IOGAP" trace -d 1 -- true >/dev/null 2>"$tmp/pidns.err"
rc=$?
check "in a PID namespace: exit 1, '$msg'" bash -c '[[ $1 -eq 1 && $(cat "$2") == "$3" ]]' _ $rc "$tmp/pidns.err" "$msg"

# 8a. What is never stored: SQL literals, request bodies and query strings. A Python program
# uses SQLite with a distinctive literal and serves 3 POSTs with a distinctive body (head and
# body in one segment, so the body is within the first bytes iogap reads) to itself.
cat >"$tmp/app.py" <<'PYEOF'
import http.server, socket, sqlite3, sys, threading
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE t(a TEXT)")
db.execute("INSERT INTO t VALUES ('secret-4242')")
db.commit()
assert db.execute("SELECT a FROM t WHERE a = 'secret-4242'").fetchall() == [("secret-4242",)]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        assert self.rfile.read(int(self.headers["Content-Length"])) == b"body-secret-7373"
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
for i in range(3):
    c = socket.create_connection(("127.0.0.1", srv.server_address[1]))
    c.sendall(b"POST /submit?token=qs-secret-5151 HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\nbody-secret-7373")
    assert b" 200 " in c.recv(4096)
    c.close()
srv.shutdown()
PYEOF
timeout 60 "$IOGAP" record -o "$tmp/sec.iogap" --json -- "$PY" "$tmp/app.py" "$tmp/sec.db" >"$tmp/sec.json" 2>"$tmp/sec.err"
rc=$?
"$IOGAP" report "$tmp/sec.iogap" >"$tmp/sec.txt" 2>&1
rcs=$?
"$IOGAP" report "$tmp/sec.iogap" --json >"$tmp/sec-rep.json" 2>&1
rcs="$rcs,$?"
"$IOGAP" report "$tmp/sec.iogap" --html "$tmp/sec.html" 2>&1
rcs="$rcs,$?"
check "SQL literals, request bodies and query strings are in no recording chunk (decompressed), JSON, text or HTML (record exit $rc, reports $rcs)" $PY - \
	"$tmp/sec.iogap" "$tmp/sec.json" "$tmp/sec-rep.json" "$tmp/sec.txt" "$tmp/sec.html" $rc "$rcs" <<'PYEOF'
import json, struct, sys, zlib
rec, live, rep, txt, html, rc, rcs = sys.argv[1:8]
b = open(rec, "rb").read()
assert int(rc) == 0 and b[:8] == b"IOGAPREC", rc
# the views were made, and hold what was seen: each can be searched for the literals
assert rcs == "0,0,0", rcs
assert open(rep, "rb").read() == open(live, "rb").read(), "report --json differs from the live JSON"
for f in (txt, html):
    v = open(f, "rb").read()
    assert b"/submit" in v and b"INSERT INTO" in v, (f, v[:300])
chunks, off = [], 8
while off < len(b):
    magic, clen, ulen = b[off:off + 4], *struct.unpack_from("<II", b, off + 8)
    assert magic == b"IOGC", off
    data = zlib.decompress(b[off + 24:off + 24 + clen])
    assert len(data) == ulen
    chunks.append(data)
    off += 24 + clen
everything = {"raw recording": b, "recording chunks": b"".join(chunks)}
for f in (live, rep, txt, html):
    everything[f] = open(f, "rb").read()
bad = [f"{s!r} in {where}" for s in (b"secret-4242", b"body-secret-7373", b"qs-secret-5151") for where, data in everything.items() if s in data]
# what was seen: the statements (as templates) and the requests (route without the query)
t = json.load(open(live))["targets"][0]
key = lambda sql: "".join(sql.split()).lower()
st = {key(s["sql"]): s["count"] for s in t["sqlite"]["statements"]}
if st.get(key("INSERT INTO t VALUES (?)")) != 1 or st.get(key("SELECT a FROM t WHERE a = ?")) != 1:
    bad.append(f"the statements were not seen as templates: {st}")
srv = [h for h in t["http"] if h["side"] == "server" and h["method"] == "POST" and h["route"] == "/submit"]
if len(srv) != 1 or srv[0]["count"] != 3:
    bad.append(f"the 3 POSTs were not seen: {t['http']}")
print("\n".join(bad) or f"{len(chunks)} chunks, 3 views: none of the literals; 2 templates and 3 POST /submit seen")
sys.exit(1 if bad else 0)
PYEOF

# 8b. A launched command runs through execvp: a name with shell metacharacters is a file name
mkdir -p "$tmp/bin" "$tmp/cwd"
printf '#!/bin/sh\necho literal >"$MARK"\n' >"$tmp/bin/x;touch PWNED"
chmod +x "$tmp/bin/x;touch PWNED"
(cd "$tmp/cwd" && MARK=$tmp/mark PATH=$tmp/bin:$PATH timeout 30 "$IOGAP" trace -o /dev/null -- 'x;touch PWNED' 2>"$tmp/ex.err")
rc=$?
check "a command named 'x;touch PWNED' runs that file (exit $rc), no shell runs 'touch PWNED'" \
	bash -c "[[ $rc -eq 0 && \$(cat '$tmp/mark' 2>/dev/null) == literal && ! -e '$tmp/cwd/PWNED' ]]"
(cd "$tmp/cwd" && timeout 30 "$IOGAP" trace -o /dev/null -- 'true;touch PWNED2' 2>"$tmp/ex2.err")
rc=$?
check "a command 'true;touch PWNED2' is not found (exit $rc, 'command not found in PATH'), nothing touched" \
	bash -c "[[ $rc -eq 127 && \$(cat '$tmp/ex2.err') == 'iogap: cannot run true;touch PWNED2: command not found in PATH' && ! -e '$tmp/cwd/PWNED2' ]]"

# 8c. A process with its own root (pivot_root in its own mount namespace) has mapped its own
# copy of libsqlite3; then that library's directory is covered by a tmpfs where the same name is
# an absolute symlink to the host's libsqlite3. Resolved from outside through /proc/PID/root the
# symlink leads out of the root, to the host's file: iogap must resolve inside the root (or use
# the mapping itself), or its uprobes sit on a file the process does not run.
jr=$tmp/jail
mkdir -p "$jr/old" "$jr/proc" "$jr/out"
cp "$SQ" "$jr/sqlite_workload"
for lib in $(ldd "$SQ" | grep -oE '/[^ ]+'); do
	mkdir -p "$jr$(dirname "$lib")"
	cp -L "$lib" "$jr$lib"
done
sqlib=$(ldd "$SQ" | grep -oE '/[^ ]+libsqlite3[^ ]*')
host=$(readlink -f "$sqlib")
"$CH" jail "$jr" "$(dirname "$sqlib")" "$(basename "$sqlib")" "$host" -- /sqlite_workload --stop script /out/db /out/rep.json \
	>"$tmp/jail.pid" 2>"$tmp/jail.err" &
jl=$!
on_exit end_pid $jl
for _ in $(seq 100); do [[ -s $tmp/jail.pid ]] && break; sleep 0.05; done
jp=$(cat "$tmp/jail.pid")
on_exit end_pid "$jp"
# the trap is set: from outside, the path in its maps leads to the host's file, not its own
mapped=$(awk -v f="$sqlib" '$6 == f { print $1; exit }' "/proc/$jp/maps" 2>/dev/null)
check "symlink trap set: /proc/PID/root$sqlib leads to the host's $host, not the mapped copy" bash -c "
	[[ -n '$mapped' && \$(stat -L -c %i '/proc/$jp/root$sqlib') == \$(stat -c %i '$host') &&
	   \$(stat -L -c %i '/proc/$jp/map_files/$mapped') != \$(stat -c %i '$host') ]]"
"$IOGAP" trace -j -p "$jp" -o "$tmp/jail.json" 2>"$tmp/jail-ig.err" &
ig=$!
on_exit end_pid $ig
if wait_for_text "$tmp/jail-ig.err" tracing; then
	kill -CONT "$jp"
	wait $jl
	for _ in $(seq 100); do kill -0 $ig 2>/dev/null || break; sleep 0.1; done
	wait $ig
	check "a library path inside the root is resolved inside it: every statement counted" $PY - \
		"$tmp/jail.json" "$jr/out/rep.json" <<'PYEOF'
import json, sys
out, rep = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
key = lambda sql: "".join(sql.split()).lower()
sq = out["targets"][0].get("sqlite") or {}
st = {key(s["sql"]): s["count"] for s in sq.get("statements", [])}
bad = [f"{sql!r}: iogap {st.get(key(sql))}, workload {w['count']}" for sql, w in rep["statements"].items() if st.get(key(sql)) != w["count"]]
print("\n".join(bad) or f"{len(rep['statements'])} templates equal; library {sq.get('library')}")
sys.exit(1 if bad else 0)
PYEOF
else
	not_ok "own root: iogap did not start"
	sed 's/^/# /' "$tmp/jail-ig.err" "$tmp/jail.err"
fi

# 7. Valgrind on the views of real recordings (an ASan build cannot run under valgrind: then the
# normal build is checked)
VG_IOGAP=$IOGAP
ldd "$IOGAP" 2>/dev/null | grep -q libasan && VG_IOGAP=$ROOT/.output/iogap
if command -v valgrind >/dev/null; then
	vg() { valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all "$VG_IOGAP" "$@" >/dev/null 2>>"$tmp/vg.err"; }
	: >"$tmp/vg.err"
	vrc=0
	vg report "$tmp/sec.iogap" || vrc=$?
	vg report "$tmp/sec.iogap" --json || vrc=$?
	vg report "$tmp/sec.iogap" --html "$tmp/vg.html" || vrc=$?
	vg report "$tmp/cut.iogap" || vrc=$?
	vg explain "$tmp/pids.iogap" "workload[$pa]" "workload[$pb]" || vrc=$?
	vg explain "$tmp/pids.iogap" "$tmp/pids.iogap" --target "workload[$pa]" --json || vrc=$?
	check "valgrind: no error or leak in report (text, JSON, HTML, truncated) and explain (last exit $vrc)" \
		bash -c "[[ $vrc -eq 0 ]] && ! grep -q '^==[0-9]*== ' '$tmp/vg.err'"
	[[ $vrc -eq 0 ]] || sed 's/^/# /' "$tmp/vg.err" | head -40
else
	not_ok "valgrind is installed (apt-get install valgrind)"
fi

remove_test_cgroups "$par"
check "no cgroup left behind" test ! -e "$par" -a "$(left_cgroups)" -le "$before_cg"
finish
