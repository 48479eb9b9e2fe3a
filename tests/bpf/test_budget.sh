#!/bin/bash
# Time budget (bpf/budget.bpf.c) against threads that spend their time in known ways
# (tests/bpf/budget_workload.c), traced as -- CMD. Each thread names itself and measures itself
# with CLOCK_MONOTONIC: its lifetime (first instruction to just before it returns) and each of
# its waits (clock_nanosleep, pthread_mutex_lock, read on a pipe). For run-queue time, the
# kernel's own figures too: the thread's CPU clock (CLOCK_THREAD_CPUTIME_ID) and its schedstat
# run_delay (/proc/thread-self/schedstat), read just before it returns; and libbpf-tools
# runqlat -p PID on the same run.
source "$(dirname "$0")/../lib.sh"
need_root "sleep: blocked.sleep within 2% of the measured sleeps" "spin: run queue vs the spinners' CPU clocks" \
	"spin: run queue 50% of each span" \
	"spin: run queue vs schedstat run_delay" "spin: run queue vs runqlat -p" \
	"mutex: blocked.futex within 10% of the measured lock waits" \
	"pipe: blocked.file_read within 5% of the measured read waits" \
	"sleep/spin/mutex/pipe: classes sum to each thread's lifetime within 2%" \
	"thread names" "http: request budget sums to the latency" "http, threads in the budget's hash: request budget sums to the latency" "loop: request budget sums to the latency" \
	"no cgroup left behind"

WL=$ROOT/.output/tests/budget_workload
RUNQLAT=${RUNQLAT:-/usr/sbin/runqlat}
tmp=$(mktemp -d /tmp/iogap-test.XXXXXX)
on_exit rm -rf "$tmp"
before_cg=$(left_cgroups)
if [[ ! -x $WL ]]; then
	not_ok "the budget workload is built (run make)"
	finish
fi

# budget.py WHAT OUT.json REPORT.json: iogap's targets[0] against the workload's report.
# Threads are matched by tid (the report has each thread's gettid()).
cat >"$tmp/budget.py" <<'PYEOF'
import json, sys
what, out, rep = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
t = out["targets"][0]
tl = {th["tid"]: th for th in t.get("thread_list") or []}
bad, info = [], []
MS = 1e6

def total(b):
    return b["cpu"] + b["runqueue"] + sum(b["blocked"].values())

def thread(w):
    th = tl.get(w["tid"])
    if th is None:
        bad.append(f"{w['name']} (tid {w['tid']}): not in thread_list (tids {sorted(tl)})")
    return th

def within(name, mine, truth, tol):
    d = (mine - truth) / truth
    (info if abs(d) <= tol else bad).append(
        f"{name}: iogap {mine / MS:.3f} ms, workload {truth / MS:.3f} ms ({d:+.2%}, tolerance {tol:.0%})")

if what == "sleep":
    # truth: the sleeper's clock around each of its 100 clock_nanosleep calls (10 ms each, less
    # what the ones before overran), less its CPU clock and its schedstat run-queue delay over
    # the same call: the time the kernel kept it blocked, 1.0 s in all by design.
    w = rep["threads"][0]
    th = thread(w)
    if th:
        b = th["budget_ns"]
        within("sleeper blocked.sleep vs its measured sleeps", b["blocked"]["sleep"], w["wait_ns"], 0.02)
        within("sleeper blocked.sleep vs 100 x 10 ms", b["blocked"]["sleep"], 100 * 10 * MS, 0.02)
        info.append(f"sleeper runqueue {b['runqueue'] / MS:.3f} ms, cpu {b['cpu'] / MS:.3f} ms")
elif what in ("spin", "spin50"):
    # truth: a spinner never blocks, so its time off CPU is run-queue wait: 1 - (its CPU clock /
    # its lifetime). That is 50% when the two spinners have their CPU to themselves; another
    # process on that CPU raises it, and then the 50% claim cannot be tested (exit 2: skip).
    for w in rep["threads"]:
        truth = 1 - w["cpu_ns"] / w["life_ns"]
        if what == "spin50" and abs(truth - 0.5) > 0.05:
            print(f"another process took the CPU: {w['name']} was off CPU {truth:.1%} of its life by its own clock")
            sys.exit(2)
    for w in rep["threads"]:
        th = thread(w)
        if not th:
            continue
        share, truth = th["budget_ns"]["runqueue"] / th["span_ns"], 1 - w["cpu_ns"] / w["life_ns"]
        want = truth if what == "spin" else 0.5
        (info if abs(share - want) <= 0.05 else bad).append(
            f"{w['name']}: iogap runqueue {share:.2%} of its span ({th['budget_ns']['runqueue'] / MS:.1f} of "
            f"{th['span_ns'] / MS:.1f} ms); its CPU clock says {truth:.2%} off CPU (tolerance 5 pp)")
elif what == "schedstat":
    # truth: the kernel's run_delay for the thread (sched_info: from each enqueue after a
    # preemption to the thread running again), from /proc/thread-self/schedstat at its end.
    # The kernel stamps those with its run-queue clock, iogap at the sched tracepoints: measured
    # on this kernel, the two differ by -1.0% to +1.6% when a third task shares the CPU, while
    # bpftrace on the same tracepoints agrees with iogap within 0.1%. Hence 3%.
    for w in rep["threads"]:
        th = thread(w)
        if th:
            within(f"{w['name']} runqueue vs schedstat run_delay", th["budget_ns"]["runqueue"],
                   w["sched_delay_ns"], 0.03)
elif what == "futex":
    # truth: the waiter's clock around each pthread_mutex_lock while the holder held the mutex
    # (20 x 20 ms), summed; the waiter waits for its rounds in nanosleep, not on a futex
    w = [w for w in rep["threads"] if w["name"] == "waiter"][0]
    th = thread(w)
    if th:
        within(f"waiter blocked.futex vs its {w['waits']} measured lock waits", th["budget_ns"]["blocked"]["futex"],
               w["wait_ns"], 0.10)
elif what == "pipe":
    # truth: the reader's clock around each of its 5 read() calls on the pipe, each blocked
    # until the writer wrote (200 ms apart), summed
    w = [w for w in rep["threads"] if w["name"] == "reader"][0]
    th = thread(w)
    if th:
        within(f"reader blocked.file_read vs its {w['waits']} measured read waits",
               th["budget_ns"]["blocked"]["file_read"], w["wait_ns"], 0.05)
elif what in ("http", "loop"):
    # truth: the server's (or the epoll loop's) own clock for each request, from the return of
    # the read() that got it to the return of the write() of its response, less the run-queue
    # wait over that write (schedstat): on a busy CPU the woken client preempts the server on
    # its way back from the write, after iogap has ended the request; the clients' count.
    # iogap: latency_mean_ns from its HTTP events (request line read -> status line written),
    # and request_latency_ns, the serving thread's time weighted by the requests it had open,
    # per request: the latency by where it went. Its sum must be the mean latency: a thread
    # serving two requests at once (the loop) counts that time for both (concurrency).
    srv = [w for w in rep["threads"] if w["name"] in ("server", "loop")][0]
    clients = [w for w in rep["threads"] if w["name"].startswith("client")]
    n = sum(w["waits"] for w in clients)
    rl, lat = t.get("request_latency_ns"), t.get("latency_mean_ns", 0)
    if t.get("served") != n or not rl or not lat:
        bad.append(f"served {t.get('served')}, clients sent {n}; request_latency_ns {rl}")
    else:
        s = total(rl)
        # exact on an idle machine (0.00-0.01% in runs by hand); under load a run came out
        # -1.7%, not explained yet (suspected: a scheduler event missed when a preemption lands
        # while another iogap program on that CPU holds the task-storage lock, so the lookup
        # fails): hence 3%
        within("sum of a request's budget vs iogap's mean latency", s, lat, 0.03)
        within(f"iogap's mean latency vs the {srv['name']}'s own clock ({srv['waits']} requests)",
               lat, srv["wait_ns"] / srv["waits"], 0.03)
        th = thread(srv)
        if what == "http" and th:
            # thread per request (concurrency 1): its work, idle apart, is its requests' time
            # and the run-queue waits after their responses (late_ns); between requests it
            # waits in read() for the next: idle_wait, until the client's write wakes it: the
            # run-queue wait before that read returns is not idle (read_delay_ns; tens of ms in
            # all on a loaded host)
            b = th["budget_ns"]
            work = total(b) - b["blocked"]["idle_wait"] - b["blocked"]["poll_idle"]
            within("the server's work (all but idle) vs its requests' time", work,
                   srv["wait_ns"] + srv["late_ns"] + srv["read_delay_ns"], 0.05)
            # its sleep: the server's 2 ms sleep as blocked time (wall less its CPU clock and
            # run-queue delay): a VM's timer can fire late
            within("a request's sleep vs the server's measured sleep", rl["blocked"]["sleep"],
                   srv["rsleep_ns"] / srv["waits"], 0.10)
            # its cpu: the 1 ms spin (CPU clock) as wall time on CPU, which on a VM also holds
            # stolen and interrupt time the CPU clock leaves out, and the rest of the request's
            # CPU clock (its syscalls, the workload's own schedstat reads among them)
            within("a request's cpu vs its CPU (the spin's time on CPU, the rest's CPU clock)", rl["cpu"],
                   (srv["spin_ns"] + srv["other_cpu_ns"]) / srv["waits"], 0.15)
            if b["blocked"]["idle_wait"] < 0.5 * 100 * MS:   # the client pauses 1 ms x 100
                bad.append(f"server idle_wait {b['blocked']['idle_wait'] / MS:.1f} ms, want >= 50 ms")
        if what == "loop" and th:
            b = th["budget_ns"]
            conc = s * n / (total(b) - b["blocked"].get("accept", 0))
            (info if 1.05 <= conc <= 2.0 else bad).append(
                f"requests open at once on the loop, on average: {conc:.2f} (two connections)")
            # its poll wait: the loop's own blocked time in epoll_wait (wall less its CPU clock
            # and run-queue delay), once for each request open meanwhile, per request. Where a
            # sleep ends and the wait for a CPU begins is the one thing iogap and schedstat may
            # place apart (the classes' sum is checked exactly, below): on a host busy enough to
            # keep the woken loop waiting, up to the run-queue delay inside those epoll waits
            # moves between the two, so that delay (printed with the result) is allowed on top of 3%
            truth, delay = srv["poll_ns"] / srv["waits"], srv["poll_delay_ns"] / srv["waits"]
            d = rl["blocked"]["poll_idle"] - truth
            (info if abs(d) <= 0.03 * truth + delay else bad).append(
                f"a request's poll wait vs the loop's epoll waits: iogap {rl['blocked']['poll_idle'] / MS:.3f} ms, "
                f"workload {truth / MS:.3f} ms ({d / truth:+.2%}; tolerance 3% + the run-queue delay inside "
                f"the waits, {delay / MS:.3f} ms = {delay / truth:.2%})")
elif what == "sums":
    # truth: each thread's lifetime by its own clock (first instruction to just before it
    # returns); the main thread's from main's first instruction to just before it writes the
    # report. iogap accounts a created thread from its creation (sched_wakeup_new) to its exit,
    # the main thread from its first switch after exec to its exit: a few microseconds more
    # than the threads' own clocks see, and for the main thread the exec and the dynamic
    # loader before main besides (2-3 ms here; 9 ms once on a loaded VM where entering the
    # kernel costs 1 us), which its schedstat at main's first instruction tells (run time and
    # run-queue delay since its fork: the tolerance for main is 2% plus that). Also: the
    # classes add up to iogap's own span (within 0.1%: measured, a created thread's sum falls
    # short of its span by 5-60 us).
    for w in rep["threads"] + [dict(rep["main"], name="main")]:
        th = thread(w)
        if not th:
            continue
        s = total(th["budget_ns"])
        d = (s - w["life_ns"]) / w["life_ns"]
        line = (f"{w['name']}: cpu + runqueue + blocked {s / MS:.3f} ms, lifetime {w['life_ns'] / MS:.3f} ms "
                f"({d:+.3%}); span {th['span_ns'] / MS:.3f} ms; exited {th['exited']}")
        pre = w.get("before_main_ns", 0)
        ok = (-0.02 * w["life_ns"] <= s - w["life_ns"] <= 0.02 * w["life_ns"] + pre and
              abs(s - th["span_ns"]) <= 0.001 * th["span_ns"] and th["exited"])
        if pre:
            line += f"; before main {pre / MS:.3f} ms"
        (info if ok else bad).append(line)
elif what == "names":
    # truth: the names the threads gave themselves (PR_SET_NAME at their first instruction,
    # before any of their own syscalls), and the main thread's comm after exec
    for w in rep["threads"] + [rep["main"]]:
        th = tl.get(w["tid"])
        if th and th["name"] != w["name"]:
            bad.append(f"tid {w['tid']}: thread_list name {th['name']!r}, the thread's name {w['name']!r}")
    names = {g["name"]: g["count"] for g in t.get("threads") or []}
    for w in rep["threads"]:
        if names.get(w["name"]) != 1:
            bad.append(f"threads: no entry {w['name']!r} with count 1 (iogap's: {names})")
    if not bad:
        info.append("names: " + ", ".join(w["name"] for w in rep["threads"] + [rep["main"]]))
lost = {k: v for k, v in out.get("lost", {}).items() if v}
if out.get("drops") or lost:
    bad.append(f"drops: {out.get('drops')}, lost: {lost}")
print("\n".join(bad + info))
sys.exit(1 if bad else 0)
PYEOF
budget() { $PY "$tmp/budget.py" "$@"; }
# show: the passing figures as TAP comments too (they are the report's numbers)
show() { local out; out=$(budget "$@") && printf '%s\n' "$out" | sed 's/^/# /'; }

# the least busy CPU this test may use (over 0.3 s), for the two spinners
idle_cpu() {
	$PY - <<'PYEOF'
import os, time
def sample():
    r = {}
    for line in open("/proc/stat"):
        p = line.split()
        if p[0].startswith("cpu") and p[0] != "cpu":
            v = list(map(int, p[1:]))
            r[int(p[0][3:])] = (v[3] + v[4], sum(v))
    return r
a = sample(); time.sleep(0.3); b = sample()
cpus = os.sched_getaffinity(0)
busy = {c: 1 - (b[c][0] - a[c][0]) / max(1, b[c][1] - a[c][1]) for c in b if c in cpus}
print(min(busy, key=busy.get))
PYEOF
}

# runqlat's histogram (usecs) -> "N_EVENTS LOW_SUM HIGH_SUM MID_SUM" in ns: it keeps no total,
# so the total lies between the sums of the bucket bounds
runqlat_sums() {
	$PY - "$1" <<'PYEOF'
import re, sys
n = lo = hi = 0
for line in open(sys.argv[1]):
    m = re.match(r"\s*(\d+)\s*->\s*(\d+)\s*:\s*(\d+)", line)
    if m:
        a, b, c = map(int, m.groups())
        n += c; lo += a * c; hi += (b + 1) * c
print(n, lo * 1000, hi * 1000, (lo + hi) * 500)
PYEOF
}

modes_ok=()

# 1. sleep: one thread sleeps 10 ms a hundred times
if traced sleep "$WL" sleep "$tmp/sleep-rep.json"; then
	o=$tmp/sleep.json r=$tmp/sleep-rep.json
	check "sleep: the sleeper's blocked.sleep within 2% of its measured sleeps (and of 1.0 s)" budget sleep "$o" "$r"
	show sleep "$o" "$r"
	modes_ok+=(sleep)
fi

# 2. spin: two threads spin for 2 s on one CPU, under runqlat -p. The workload waits at a gate
# (a FIFO) until runqlat is attached to its PID. runqlat (libbpf-tools 0.26) uses the
# sched_wakeup/sched_wakeup_new/sched_switch tracepoints (tp_btf), no kprobe or fentry: it
# runs on this kernel.
cpu=$(idle_cpu)
mkdir "$tmp/gate"
mkfifo "$tmp/gate/go"
timeout -k 5 60 "$IOGAP" trace -j -o "$tmp/spin.json" -- "$WL" --gate "$tmp/gate" spin "$tmp/spin-rep.json" "$cpu" \
	2>"$tmp/spin.err" &
ig=$!
on_exit end_pid $ig
for _ in $(seq 100); do [[ -s $tmp/gate/pid ]] && break; sleep 0.1; done
wl=$(cat "$tmp/gate/pid" 2>/dev/null)
rq=
if [[ -n $wl ]]; then
	on_exit end_pid "$wl"
	if [[ -x $RUNQLAT ]]; then
		# line-buffered, so that its "Tracing ..." line shows once it is attached
		stdbuf -oL "$RUNQLAT" -p "$wl" >"$tmp/runqlat.out" 2>&1 &
		rq=$!
		on_exit end_pid $rq
		for _ in $(seq 100); do
			grep -q Tracing "$tmp/runqlat.out" && break
			kill -0 $rq 2>/dev/null || break
			sleep 0.1
		done
		grep -q Tracing "$tmp/runqlat.out" || { end_pid $rq; rq=; }
	fi
	# the workload opens the FIFO to read; the timeout in case it is gone
	timeout 10 sh -c 'echo go >"$1"' sh "$tmp/gate/go"
fi
wait $ig
rc=$?
[[ -n $rq ]] && kill -INT $rq && wait $rq
if [[ $rc -ne 0 || ! -s $tmp/spin.json || ! -s $tmp/spin-rep.json ]]; then
	not_ok "spin: iogap exited $rc (workload pid ${wl:-none})"
	sed 's/^/# /' "$tmp/spin.err" | tail -20
else
	o=$tmp/spin.json r=$tmp/spin-rep.json
	check "spin: each spinner's run queue share of its span within 5 pp of its own CPU clock's (CPU $cpu)" budget spin "$o" "$r"
	show spin "$o" "$r"
	out=$(budget spin50 "$o" "$r")
	case $? in
	0) ok "spin: each spinner ≈ 50% in run-queue wait (±5 pp)" ;;
	2) skip "spin: each spinner ≈ 50% in run-queue wait (±5 pp)" "$out" ;;
	*) not_ok "spin: each spinner ≈ 50% in run-queue wait (±5 pp)"; printf '%s\n' "$out" | sed 's/^/# /' ;;
	esac
	check "spin: each spinner's run queue within 3% of the kernel's schedstat run_delay" budget schedstat "$o" "$r"
	show schedstat "$o" "$r"
	modes_ok+=(spin)
	# runqlat -p: the process's run-queue latencies (wakeup or preemption to running), a
	# histogram; iogap's target total (all threads) must be of the same order of magnitude
	if [[ ! -x $RUNQLAT ]]; then
		skip "spin: run queue vs runqlat -p" "no $RUNQLAT (Debian package libbpf-tools)"
	elif [[ -z $rq ]] || ! grep -q -- '->' "$tmp/runqlat.out"; then
		why=$(grep -v '^$' "$tmp/runqlat.out" | tail -1)
		skip "spin: run queue vs runqlat -p" "$RUNQLAT -p $wl did not attach or print a histogram (its output: ${why:-none})"
	else
		read -r n lo hi mid < <(runqlat_sums "$tmp/runqlat.out")
		mine=$($PY -c "import json; print(json.load(open('$o'))['targets'][0]['budget_ns']['runqueue'])")
		inside=no
		((lo <= mine && mine <= hi)) && inside=yes
		echo "# runqlat -p $wl: $n waits, total between $((lo / 1000000)) and $((hi / 1000000)) ms (bucket bounds), ~$((mid / 1000000)) ms; iogap's target runqueue $((mine / 1000000)) ms (within runqlat's bounds: $inside)"
		sed 's/^/#   /' "$tmp/runqlat.out"
		check "spin: iogap's run queue ($((mine / 1000000)) ms) the same order of magnitude as runqlat -p's (~$((mid / 1000000)) ms)" \
			$PY -c "import sys; sys.exit(0 if $mid > 0 and 0.1 <= $mine / $mid <= 10 else 1)"
	fi
fi

# 3. mutex: the holder holds it 20 x 20 ms, the waiter locks it each time
if traced mutex "$WL" mutex "$tmp/mutex-rep.json"; then
	o=$tmp/mutex.json r=$tmp/mutex-rep.json
	check "mutex: the waiter's blocked.futex within 10% of its measured lock waits" budget futex "$o" "$r"
	show futex "$o" "$r"
	modes_ok+=(mutex)
fi

# 4. pipe: the reader blocks in read() until the writer writes, 5 x 200 ms
if traced pipe "$WL" pipe "$tmp/pipe-rep.json"; then
	o=$tmp/pipe.json r=$tmp/pipe-rep.json
	check "pipe: the reader's blocked.file_read within 5% of its measured read waits" budget pipe "$o" "$r"
	show pipe "$o" "$r"
	modes_ok+=(pipe)
fi

# 5. http: a thread per request, one keep-alive connection; loop: two connections on one epoll
# loop, their requests open at once
if traced http "$WL" http "$tmp/http-rep.json"; then
	check "http: a request's budget sums to the mean latency (3%), which is the server's clock (3%); its work is its requests' time (5%)" \
		budget http "$tmp/http.json" "$tmp/http-rep.json"
	show http "$tmp/http.json" "$tmp/http-rep.json"
fi
# the same with only the first thread's figures in the budget's array, the request threads' in
# its hash (a server past the array's 16384 threads)
if IOGAP_BUDGET_ARRAY=1 traced http-hash "$WL" http "$tmp/http-hash-rep.json"; then
	check "http, threads in the budget's hash: a request's budget sums to the mean latency (3%), which is the server's clock (3%); its work is its requests' time (5%)" \
		budget http "$tmp/http-hash.json" "$tmp/http-hash-rep.json"
	show http "$tmp/http-hash.json" "$tmp/http-hash-rep.json"
fi
if traced loop "$WL" loop "$tmp/loop-rep.json"; then
	check "loop: a request's budget sums to the mean latency with two requests open at once on one thread" \
		budget loop "$tmp/loop.json" "$tmp/loop-rep.json"
	show loop "$tmp/loop.json" "$tmp/loop-rep.json"
fi

for m in "${modes_ok[@]}"; do
	check "$m: every thread's cpu + runqueue + blocked within 2% of its own lifetime (and of its span)" \
		budget sums "$tmp/$m.json" "$tmp/$m-rep.json"
	show sums "$tmp/$m.json" "$tmp/$m-rep.json"
done
for m in "${modes_ok[@]}"; do
	check "$m: thread_list and threads name each thread as it named itself" budget names "$tmp/$m.json" "$tmp/$m-rep.json"
done

after_cg=$(left_cgroups)
check "no cgroup left behind by an iogap that ended ($before_cg before, $after_cg after)" test "$after_cg" -le "$before_cg"
finish
