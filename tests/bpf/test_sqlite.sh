#!/bin/bash
# SQLite layer against workloads with a known ground truth (tests/bpf/sqlite_workload.c), linked
# dynamically, statically, run in its own mount namespace and root, and traced by --pid.
# Ground truth: per statement template, the program's own sqlite3_trace_v2 (executions, rows),
# the return codes of its own sqlite3_step calls, its clock_gettime around each step, its timed
# busy-handler sleeps, its /proc/self/maps; for fsyncs, strace -C -y (counts, and per file) on
# the same workload, whose fsyncs are the same on every run.
source "$(dirname "$0")/../lib.sh"
need_root "dynamic: per-template counts exact" "dynamic: step time within 10%" \
	"dynamic: execution time within 10%" "dynamic: sqlite3_reset and sqlite3_finalize not probed" "dynamic: opens and closes" \
	"dynamic: library" "dynamic: the prepares probed at their common callee" "public: per-template counts exact" \
	"public: step time within 10%" "public: execution time within 10%" \
	"public: sqlite3_reset and sqlite3_finalize not probed" "public: the public prepare functions probed" \
	"public: opens and closes" "public: library" "static: the public prepare functions probed" \
	"static: per-template counts exact" "static: step time within 10%" \
	"static: execution time within 10%" "static: sqlite3_reset and sqlite3_finalize probed" \
	"static: opens and closes" "static: library, where=static" "mount namespace: per-template counts exact" \
	"mount namespace: in-root library path" "--pid target: per-template counts exact" "--pid target: opens" \
	"busy: per-template counts and BUSY codes exact" "busy: busy_sleep vs the program's timed sleeps" \
	"busy: opens, closes, processes" "busy: BUSY at once per template exact" \
	"busy: prepares' busy-handler sleeps and BUSY exact" "journal=delete: per-template counts exact" \
	"journal=delete: fsyncs inside SQLite equal strace -c" "journal=delete: fsync_by_file equals strace -y" \
	"journal=wal: per-template counts exact" "journal=wal: fsyncs inside SQLite equal strace -c" \
	"journal=wal: fsync_by_file equals strace -y" "churn: counts exact" "statement prepared before attach is named" \
	"threads: statements of two threads exact" "threads: no perf event held (uprobe_multi links)" \
	"threads, perf-event uprobes: statements of two threads exact" "no cgroup left behind"

tmp=$(mktemp -d /tmp/iogap-test.XXXXXX)
on_exit rm -rf "$tmp"
cgmnt=$(cgroup2_mount)
before_cg=$(left_cgroups)

# built by the Makefile, linked with libsqlite3 dynamically and statically
WL=$ROOT/.output/tests/sqlite_workload
WLS=$ROOT/.output/tests/sqlite_workload_static
if [[ ! -x $WL || ! -x $WLS ]]; then
	not_ok "the SQLite workload is built (run make)"
	finish
fi

# compare.py WHAT OUT.json REPORT.json [ARGS]: iogap's targets[0].sqlite against the workload's report
cat >"$tmp/compare.py" <<'PYEOF'
import json, os, re, sys
what, out, rep = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
args = sys.argv[4:]
sq = out["targets"][0].get("sqlite") or {}
# templates are matched ignoring case and whitespace: the workload's SQL has single spaces,
# so "(?, ?)" vs "(?,?)" is a matter of style, "(?, ?)" vs "(?)" is not
key = lambda sql: "".join(sql.split()).lower()
got, bad, info = {}, [], []
for s in sq.get("statements", []):
    if key(s["sql"]) in got:
        bad.append(f"template listed twice: {s['sql']!r}")
    got[key(s["sql"])] = s
lost = {k: v for k, v in out.get("lost", {}).items() if v}
if out.get("drops") or lost:
    bad.append(f"drops: {out.get('drops')}, lost: {lost}")

def table():
    return ["iogap's statements:"] + [f"  {s['sql']!r}: count {s.get('count')} steps {s.get('steps')} "
            f"rows {s.get('rows')} rc {s.get('rc')} step_ns {s.get('step_ns')}" for s in sq.get("statements", [])]

def within(mine, truth, tol):
    return abs(mine - truth) <= tol * truth

if what == "counts":
    # truth: count and rows from sqlite3_trace_v2, steps and rc from the program's own sqlite3_step calls
    for sql, w in rep["statements"].items():
        g = got.get(key(sql))
        if g is None:
            bad.append(f"{sql!r}: missing")
            continue
        for f in ("count", "steps", "rows"):
            if g.get(f) != w[f]:
                bad.append(f"{sql!r}: {f} iogap {g.get(f)}, workload {w[f]}")
        # every execution ended and timed (lat): those left open by a finalize included, which
        # end at a new statement at their address or when tracing ends
        if g.get("ended") != w["count"]:
            bad.append(f"{sql!r}: ended (timed executions) iogap {g.get('ended')}, workload count {w['count']}")
        rc = g.get("rc", {})
        for code, n in rc.items():
            if n != w["rc"].get(code, 0):
                bad.append(f"{sql!r}: rc {code} iogap {n}, workload {w['rc'].get(code, 0)}")
        for code, n in w["rc"].items():
            if n and code not in rc:
                bad.append(f"{sql!r}: rc {code} missing, workload {n}")
    if bad:
        bad += table()
    else:
        info.append(f"{len(rep['statements'])} templates, {sum(w['count'] for w in rep['statements'].values())} "
                    "executions, all equal")
elif what in ("timing", "exec_timing"):
    # timing: per step. Truth: the program's clock_gettime around each sqlite3_step, summed per
    # template; iogap's step_ns. Compared only where steps average >= 250 us and total >= 1 ms:
    # the program's clock also holds the uprobe/uretprobe traps around each call that iogap's
    # entry-to-return interval mostly does not (2-5 us with bpftrace on one host, 15-20 us on a
    # host where a breakpoint trap alone costs 6 us: BEGIN's 22 us step is 4 us to iogap), so
    # cheap steps would differ by more than 10% for that reason alone.
    # exec_timing: per execution. Truth: the same clock from each execution's first sqlite3_step
    # call to the return of its last; iogap's execution latency (lat.mean: its first step's
    # entry to its last step's return), on the same terms. Includes the templates named in
    # ARGS, which must be compared: 'SELECT a FROM big WHERE a % ? = ?', whose executions are
    # reset after 1-3 of their rows (one ended at the wrong step would take in its successor's
    # time, or none, and move the mean by far more than 10%), and 'SELECT b FROM big WHERE
    # a % ? = ?', whose are finalized after 1-3 rows without a reset.
    total, per, least = ("step_ns", "steps", 3) if what == "timing" else ("exec_ns", "count", 4)
    timed = {sql: w for sql, w in rep["statements"].items()
             if w[total] >= 1000000 and w[total] >= 250000 * w[per]}
    if len(timed) < least:
        bad.append(f"workload too fast to compare: only {list(timed)} qualify")
    for sql in args:    # templates that must be among those compared
        if key(sql) not in {key(t) for t in timed}:
            bad.append(f"{sql!r} is not compared: too fast or missing in the workload's report")
    for sql, w in timed.items():
        g = got.get(key(sql), {})
        mine = g.get("step_ns", 0) / max(g.get("steps") or 0, 1) if what == "timing" else g.get("lat", {}).get("mean", 0)
        truth = w[total] / w[per]
        unit = "step" if what == "timing" else "execution"
        line = f"{sql!r}: iogap {mine:.0f} ns per {unit}, workload {truth:.0f} ns ({(mine - truth) / truth:+.1%})"
        (info if within(mine, truth, 0.10) else bad).append(line)
elif what == "opens":
    # truth: the program's own sqlite3_open_v2/sqlite3_close calls and processes that made them
    for f in ("opens", "closes", "processes"):
        line = f"{f}: iogap {sq.get(f)}, workload {rep[f]}"
        (info if sq.get(f) == rep[f] else bad).append(line)
elif what == "library":
    # truth: the file holding sqlite3_step in the program's /proc/self/maps, as it sees it;
    # with PATH, both must be exactly PATH (else the same file once symlinks are resolved).
    # WHERE: the accepted values, "|"-separated
    where, exact = args[0].split("|"), args[1] if len(args) > 1 else None
    lib, want = sq.get("library") or "", rep["library"]
    same = lib == want == exact if exact else os.path.realpath(lib) == os.path.realpath(want)
    line = f"library iogap {lib!r}, workload {want!r}; where iogap {sq.get('where')!r}, want {where!r}"
    (info if same and sq.get("where") in where else bad).append(line)
elif what == "busy_sleep":
    # truth: the program's usleep (SQLite's busy handler) timed with clock_gettime inside
    # sqlite3_step, parent and child summed
    mine = sum(s.get("split_ns", {}).get("busy_sleep", 0) for s in sq.get("statements", []))
    line = f"busy_sleep iogap {mine} ns, workload {rep['busy_sleep_ns']} ns"
    (info if mine > 0 and within(mine, rep["busy_sleep_ns"], 0.10) else bad).append(line)
elif what == "busy_at_once":
    # truth: the program's steps that returned SQLITE_BUSY while its usleep (SQLite's busy
    # handler) did not run, per template: a read transaction's write (SQLite does not wait)
    for sql, w in rep["statements"].items():
        n = got.get(key(sql), {}).get("busy_at_once")
        if n != w["busy_at_once"]:
            bad.append(f"{sql!r}: busy_at_once iogap {n}, workload {w['busy_at_once']}")
    total = sum(w["busy_at_once"] for w in rep["statements"].values())
    if not total:
        bad.append("the workload had no BUSY at once: nothing compared")
    if not bad:
        info.append(f"{total} BUSY at once, per template equal")
elif what == "prep_sleep":
    # truth: the program's sqlite3_prepare_v2 calls in which usleep ran, the time usleep took
    # in them (clock_gettime), and those that returned SQLITE_BUSY
    for f in ("prep_sleeps", "prep_busy"):
        line = f"{f}: iogap {sq.get(f)}, workload {rep[f]}"
        (info if sq.get(f) == rep[f] and rep[f] else bad).append(line)
    mine, truth = sq.get("prep_sleep_ns", 0), rep["prep_sleep_ns"]
    line = f"prep_sleep_ns: iogap {mine}, workload {truth}"
    (info if truth and within(mine, truth, 0.10) else bad).append(line)
elif what in ("fsync_total", "fsync_files"):
    # truth: strace -f -C -y -e trace=fsync,fdatasync of the same workload in another directory;
    # paths are compared relative to each run's directory ("." is the directory itself)
    st_file, st_dir, ig_dir = args
    st_total, st_files = None, {}
    for line in open(st_file):
        m = re.match(r"^\d+\s+(fsync|fdatasync)\(\d+<([^>]*)>\)", line)
        if m:
            r = os.path.relpath(m.group(2), st_dir)
            st_files[r] = st_files.get(r, 0) + 1
        p = line.split()
        if len(p) >= 5 and p[-1] == "total":
            st_total = int(p[3])
    ig_files = {}
    for f in sq.get("fsync_by_file", []):
        r = os.path.relpath(f["path"], ig_dir)
        ig_files[r] = ig_files.get(r, 0) + f["count"]
    if what == "fsync_total":
        ops = sum(f["count"] for f in out["targets"][0]["file"] if f["op"] in ("fsync", "fdatasync"))
        line = (f"inside SQLite (fsync_by_file) {sum(ig_files.values())}, file layer's fsync+fdatasync "
                f"{ops}, strace -c {st_total}")
        (info if sum(ig_files.values()) == ops == st_total else bad).append(line)
    else:
        line = f"iogap {dict(sorted(ig_files.items()))}, strace -y {dict(sorted(st_files.items()))}"
        (info if ig_files == st_files else bad).append(line)
print("\n".join(bad + info))
sys.exit(1 if bad else 0)
PYEOF
compare() { $PY "$tmp/compare.py" "$@"; }
# reset_probe yes|no ERR: iogap's attach line in ERR says sqlite3_reset and sqlite3_finalize
# are probed (yes) or not
reset_probe() {
	local line unprobed="sqlite3_reset and sqlite3_finalize unprobed"
	line=$(grep "SQLite in pid" "$2") || { echo "no attach line in $2"; return 1; }
	echo "$line"
	if [[ $1 == yes ]]; then ! grep -q "$unprobed" <<<"$line"; else grep -q "$unprobed" <<<"$line"; fi
}
# prepare_probe inner|public ERR: the attach line says the prepares are probed at their common
# callee (the host's library, checked by iogap at start), or not (their six public functions)
prepare_probe() {
	local line inner="prepares at their common callee"
	line=$(grep "SQLite in pid" "$2") || { echo "no attach line in $2"; return 1; }
	echo "$line"
	if [[ $1 == inner ]]; then grep -q "$inner" <<<"$line"; else ! grep -q "$inner" <<<"$line"; fi
}


# 1. dynamic and static binaries as -- CMD: the script mode; the dynamic one also with the six
# public prepare functions probed (IOGAP_SQLITE_PUBLIC=1), as where the check of their common
# callee fails: the counts must not depend on it
for kind in dynamic public static; do
	# a shared library is found mapped, or (launched commands) attached before ld.so maps it
	bin=$WL where='mapped|candidate' trace_env=()
	[[ $kind == static ]] && bin=$WLS where=static
	[[ $kind == public ]] && trace_env=(IOGAP_SQLITE_PUBLIC=1)
	mkdir -p "$tmp/$kind"
	if traced "$kind" "$bin" script "$tmp/$kind/db" "$tmp/$kind/rep.json"; then
		o=$tmp/$kind.json r=$tmp/$kind/rep.json
		check "$kind: per-template counts, steps, rows, rc exact (vs the program's trace_v2 and step codes)" compare counts "$o" "$r"
		check "$kind: step time within 10% of the program's clock_gettime (templates >= 1 ms, >= 250 us/step)" compare timing "$o" "$r"
		check "$kind: execution time within 10% of the program's clock_gettime, executions reset after a row included" compare exec_timing "$o" "$r" 'SELECT a FROM big WHERE a % ? = ?' 'SELECT b FROM big WHERE a % ? = ?'
		# the host's library: executions told by SQLite's own count; a static one: by a probe
		# on sqlite3_reset (the counts above hold either way, abandoned executions included)
		if [[ $kind == static ]]; then
			check "$kind: sqlite3_reset and sqlite3_finalize probed (no offsets for a library not the host's)" reset_probe yes "$tmp/$kind.err"
		else
			check "$kind: sqlite3_reset and sqlite3_finalize not probed: executions from SQLite's own count" reset_probe no "$tmp/$kind.err"
		fi
		if [[ $kind == dynamic ]]; then
			check "$kind: the prepares probed at their common callee (the host's library)" prepare_probe inner "$tmp/$kind.err"
		else
			check "$kind: the public prepare functions probed" prepare_probe public "$tmp/$kind.err"
		fi
		check "$kind: opens 1, closes 1, 1 process (vs the program's calls)" compare opens "$o" "$r"
		check "$kind: library is the program's own mapping of sqlite3_step, where=$where" compare library "$o" "$r" "$where"
	fi
done
trace_env=()

# 2. private mount namespace with its own root: the library exists only inside it, at a path
# the host does not have; the root is a tmpfs mounted in the namespace, gone with it
ns_src=$tmp/ns-src
mkdir -p "$ns_src/opt/sqlite/lib" "$ns_src/proc" "$ns_src/out" "$tmp/ns-root" "$tmp/ns-out"
cp "$WL" "$ns_src/sqlite_workload"
for lib in $(ldd "$WL" | grep -oE '/[^ ]+'); do
	if [[ $lib == */libsqlite3.so* ]]; then
		cp -L "$lib" "$ns_src/opt/sqlite/lib/libsqlite3.so.0"
	else
		mkdir -p "$ns_src$(dirname "$lib")"
		cp -L "$lib" "$ns_src$lib"
	fi
done
# shellcheck disable=SC2016 # expanded by the inner sh
if traced ns unshare --mount --propagation private sh -c '
	mount -t tmpfs tmpfs "$1" && cp -a "$2/." "$1/" && mount --bind "$3" "$1/out" &&
	mount -t proc proc "$1/proc" &&
	LD_LIBRARY_PATH=/opt/sqlite/lib exec chroot "$1" /sqlite_workload script /out/db /out/rep.json' \
	sh "$tmp/ns-root" "$ns_src" "$tmp/ns-out"; then
	check "mount namespace: per-template counts, steps, rows, rc exact" compare counts "$tmp/ns.json" "$tmp/ns-out/rep.json"
	check "mount namespace: library is the in-root path /opt/sqlite/lib/libsqlite3.so.0, as in the program's maps" \
		compare library "$tmp/ns.json" "$tmp/ns-out/rep.json" 'mapped|candidate' /opt/sqlite/lib/libsqlite3.so.0
fi

# 3. --pid target: the workload stops itself (libsqlite3 mapped, no database open yet), iogap
# attaches, then it runs
mkdir -p "$tmp/pid"
trace_stopped_pid "$tmp/pid.json" "$tmp/pid.err" "$WL" --stop script "$tmp/pid/db" "$tmp/pid/rep.json"
case $? in
0)
	check "--pid target: per-template counts, steps, rows, rc exact" compare counts "$tmp/pid.json" "$tmp/pid/rep.json"
	check "--pid target: opens 1, closes 1, 1 process" compare opens "$tmp/pid.json" "$tmp/pid/rep.json" ;;
1)
	not_ok "--pid target: iogap did not start"
	sed 's/^/# /' "$tmp/pid.err" ;;
*)
	not_ok "--pid target: iogap did not end when its target exited" ;;
esac

# 4. lock contention: a forked child holds a write transaction for 300 ms while the parent's
# INSERTs (busy timeout 100 ms) sleep in SQLite's busy handler and return SQLITE_BUSY; then a
# read transaction's UPDATE returns SQLITE_BUSY at once (3 times), and a new connection's
# prepare waits in the busy handler for its schema read and returns SQLITE_BUSY (2 times)
mkdir -p "$tmp/busy"
if traced busy "$WL" busy "$tmp/busy/db" "$tmp/busy/rep.json"; then
	o=$tmp/busy.json r=$tmp/busy/rep.json
	nbusy=$($PY -c "import json, sys; print(sum(s['rc']['BUSY'] for s in json.load(open(sys.argv[1]))['statements'].values()))" "$r")
	check "busy: per-template counts and rc exact ($nbusy SQLITE_BUSY), the forked child's included" compare counts "$o" "$r"
	# 10%: both sides time the same clock_nanosleep calls (~24 of 1-25 ms, ~300 ms in all); the
	# program's clock adds only a libc call around each, so they differ by well under 1% unless
	# iogap misses or misclassifies sleeps
	check "busy: busy_sleep in the split within 10% of the program's timed busy-handler sleeps" compare busy_sleep "$o" "$r"
	check "busy: opens 8, closes 8, 2 processes (parent and forked child)" compare opens "$o" "$r"
	check "busy: BUSY at once (no busy-handler sleep in the step) per template exact" compare busy_at_once "$o" "$r"
	# 10%: the same clock_nanosleep calls (~6 of 1-17 ms, 50 ms a prepare), timed on both sides
	check "busy: prepares' busy-handler sleeps (2) and BUSY (2) exact, their time within 10%" compare prep_sleep "$o" "$r"
fi

# 5. journal modes: fsyncs inside SQLite vs strace of the same workload (deterministic: the same
# counts on every run). In WAL mode the close does not checkpoint, so all of them are in steps.
for j in delete wal; do
	mkdir -p "$tmp/$j-st" "$tmp/$j"
	strace -f -C -y -e trace=fsync,fdatasync -o "$tmp/$j-strace.txt" \
		"$WL" write "$tmp/$j-st/db" "$tmp/$j-st/rep.json" --journal $j >/dev/null 2>&1
	if traced "$j" "$WL" write "$tmp/$j/db" "$tmp/$j/rep.json" --journal $j; then
		check "journal=$j: per-template counts exact" compare counts "$tmp/$j.json" "$tmp/$j/rep.json"
		check "journal=$j: fsyncs inside SQLite equal strace -c's fsync+fdatasync" \
			compare fsync_total "$tmp/$j.json" "$tmp/$j/rep.json" "$tmp/$j-strace.txt" "$tmp/$j-st" "$tmp/$j"
		check "journal=$j: fsync_by_file equals strace -y per file (db, its -journal/-wal, the directory)" \
			compare fsync_files "$tmp/$j.json" "$tmp/$j/rep.json" "$tmp/$j-strace.txt" "$tmp/$j-st" "$tmp/$j"
	fi
done

# 6. more statements than iogap's table of them holds, finalized (unprobed: their entries stay
# until room is needed), while one statement runs its executions across them, stepped every 500
# of them: the table must make room for the new ones and keep the one in use
# (tests/bpf/sqlite_workload.c, mode_churn). Ground truth: sqlite3_trace_v2, as above.
mkdir -p "$tmp/churn"
if traced churn "$WL" churn "$tmp/churn/db" "$tmp/churn/rep.json"; then
	check "churn: 40000 statements at 20000 addresses and one running across them, counts exact" \
		compare counts "$tmp/churn.json" "$tmp/churn/rep.json"
fi

# 7. attach to a process whose statement was prepared (and cached, as Python's sqlite3 module
# does) before iogap attached: iogap names it from the statement itself. Ground truth: the
# script runs it exactly 300 times, one row each.
cat >"$tmp/cached.py" <<'PYEOF'
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE t(a)")
q = "SELECT count(*) FROM t WHERE a > ?"
db.execute(q, (1,)).fetchall()
os.kill(os.getpid(), signal.SIGSTOP)
for i in range(300):
    db.execute(q, (i,)).fetchall()
PYEOF
if trace_stopped_pid "$tmp/cached.json" "$tmp/cached.err" /usr/bin/python3 "$tmp/cached.py" "$tmp/cached.db"; then
	check "statement prepared before attach is named: 300 executions, 300 rows" $PY - "$tmp/cached.json" <<'PYEOF'
import json, sys
st = json.load(open(sys.argv[1]))["targets"][0]["sqlite"]["statements"]
got = {s["sql"]: (s["count"], s["rows"]) for s in st}
print(got)
sys.exit(0 if got.get("SELECT count(*) FROM t WHERE a > ?") == (300, 300) else 1)
PYEOF
else
	not_ok "statement prepared before attach: iogap did not trace the python process"
	sed 's/^/# /' "$tmp/cached.err"
fi

# 8. two threads, one started before iogap attached: a uprobe_multi link's PID filter must let
# every thread of the process through (before Linux 6.10 it let only the main thread: iogap then
# attaches perf-event uprobes, IOGAP_PERF_UPROBES=1, the second run). Ground truth: the script
# runs each thread's statement a known number of times, one row each (iogap shows its literal 1
# as ?). While it traces, iogap must hold no perf event: a uprobe attached to a process through
# one makes every context switch of that process's main thread pay for a perf context switch
# (~0.75 us here).
cat >"$tmp/threads.py" <<'PYEOF'
import os, signal, sqlite3, sys, threading
go = threading.Event()
def work(n, tag):
    go.wait()
    db = sqlite3.connect(sys.argv[1], timeout=10)
    for i in range(n):
        db.execute("SELECT ? + 1 AS " + tag, (i,)).fetchall()
    db.close()
t = threading.Thread(target=work, args=(200, "side"))
t.start()
os.kill(os.getpid(), signal.SIGSTOP)
go.set()
work(100, "main")
t.join()
PYEOF
cat >"$tmp/threads_check.py" <<'PYEOF'
import json, sys
st = json.load(open(sys.argv[1]))["targets"][0]["sqlite"]["statements"]
got = {s["sql"]: (s["count"], s["rows"]) for s in st if s["sql"].startswith("SELECT ? + ? AS")}
print(got)
sys.exit(0 if got == {"SELECT ? + ? AS side": (200, 200), "SELECT ? + ? AS main": (100, 100)} else 1)
PYEOF
# while_tracing: iogap (PID $1) holds no perf event, and BPF links
no_perf_events() {
	local nperf nlinks
	nperf=$(find /proc/$1/fd -lname 'anon_inode:*perf_event*' 2>/dev/null | wc -l)
	nlinks=$(find /proc/$1/fd -lname 'anon_inode:bpf_link' 2>/dev/null | wc -l)
	check "threads: iogap holds no perf event while it traces ($nperf perf events, $nlinks BPF links)" \
		test "$nperf" -eq 0 -a "$nlinks" -gt 0
}
for mode in multi perf; do
	name="threads" trace_env=() while_tracing=no_perf_events
	[[ $mode == perf ]] && name="threads, perf-event uprobes" trace_env=(IOGAP_PERF_UPROBES=1) while_tracing=
	trace_stopped_pid "$tmp/threads-$mode.json" "$tmp/threads-$mode.err" \
		/usr/bin/python3 "$tmp/threads.py" "$tmp/threads-$mode.db"
	case $? in
	0)
		check "$name: statements of two threads exact (200 on the one started before attach, 100 on the main)" \
			$PY "$tmp/threads_check.py" "$tmp/threads-$mode.json" ;;
	1)
		not_ok "$name: iogap did not start tracing"
		sed 's/^/# /' "$tmp/threads-$mode.err" ;;
	*)
		not_ok "$name: iogap did not end when its target exited" ;;
	esac
done
trace_env=() while_tracing=

after_cg=$(left_cgroups)
check "no cgroup left behind by an iogap that ended ($before_cg before, $after_cg after)" test "$after_cg" -le "$before_cg"
finish
