#!/bin/bash
# Network layer (TCP lifecycle, socket I/O, HTTP/1.x) against a workload with a known ground
# truth (tests/bpf/net_workload.c): an HTTP/1.1 server and its clients in one process, on
# 127.0.0.1 and an ephemeral port, traced as -- CMD and by --pid.
# Ground truth: the program's own count of every socket call and byte, of its accepts and
# connects, and of every HTTP response per side, method and route (server and clients agree,
# and the bytes agree with the kernel's TCP_INFO before each close, or it exits 1); its
# clock_gettime around connect() and accept() for the accept-queue wait and connect latency;
# for resets, what the kernel's tcp:tcp_send_reset/tcp_receive_reset tracepoints showed with
# bpftrace on this workload (below).
source "$(dirname "$0")/../lib.sh"
need_root "listen queue overflows" "mix: http per side, method and route exact" "mix: requests" "mix: accepted, connected, closed" \
	"mix: bytes_in, bytes_out" "mix: retransmits, no resets" "mix: socket syscalls" \
	"--pid target: http exact" "--pid target: requests" "--pid target: accepted, connected, closed" \
	"--pid target: bytes" "acceptq: accept_queue mean within 10%" "acceptq: connect_lat" \
	"acceptq: accepted, connected, closed" "acceptq beside 8,000 connections/s: accepted, connected, closed" \
	"closes no program ran for, -- CMD" "closes no program ran for, own network namespace" \
	"closes no program ran for, namespace gone" \
	"resets: resets_sent, resets_received" "resets: refused" \
	"no cgroup left behind"

WL=$ROOT/.output/tests/net_workload
tmp=$(mktemp -d /tmp/iogap-test.XXXXXX)
on_exit rm -rf "$tmp"
cgmnt=$(cgroup2_mount)
before_cg=$(left_cgroups)
if [[ ! -x $WL ]]; then
	not_ok "the network workload is built (run make)"
	finish
fi

# The workload's resets mode: N_LINGER connections closed with SO_LINGER {1, 0}, N_REFUSED
# connects to a port nobody listens on (tests/bpf/net_workload.c).
N_LINGER=4 N_REFUSED=3
ACCEPTQ_DELAY_MS=100

# compare.py WHAT OUT.json REPORT.json [ARGS]: iogap's targets[0] against the workload's report
cat >"$tmp/compare.py" <<'PYEOF'
import json, sys
what, out, rep = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
args = sys.argv[4:]
t = out["targets"][0]
tcp = t.get("tcp") or {}
bad, info = [], []
lost = {k: v for k, v in out.get("lost", {}).items() if v}
if out.get("drops") or lost:
    bad.append(f"drops: {out.get('drops')}, lost: {lost}")

def equal(name, mine, truth):
    (info if mine == truth else bad).append(f"{name}: iogap {mine}, workload {truth}")

def nonzero(d):
    return {k: v for k, v in (d or {}).items() if v}

if what == "http":
    # truth: per side, method and route (normalized by the program: numeric, UUID, long hex
    # segments -> {id}, query dropped), the responses the server wrote and those the clients
    # read, with their status codes; the program exits 1 unless both sides agree. A request
    # whose head came in two reads, and 500 responses written as head then body, count once.
    got = {}
    for h in t.get("http") or []:
        k = (h.get("side"), h.get("method"), h.get("route"))
        if k in got:
            bad.append(f"{k} listed twice")
        got[k] = h
    want = {(h["side"], h["method"], h["route"]): h for h in rep["http"]}
    for k, w in sorted(want.items()):
        g = got.get(k)
        if g is None:
            bad.append(f"{k}: missing, workload {w['count']}")
            continue
        for f, mine, truth in (("count", g.get("count"), w["count"]),
                               ("status", nonzero(g.get("status")), nonzero(w["status"])),
                               ("codes", nonzero(g.get("codes")), w["codes"])):
            if mine != truth:
                bad.append(f"{k}: {f} iogap {mine}, workload {truth}")
    for k, g in got.items():
        if k not in want and g.get("count"):
            bad.append(f"{k}: iogap {g['count']}, the workload made none")
    if bad:
        bad += ["iogap's http:"] + [f"  {k}: count {g.get('count')} codes {g.get('codes')}" for k, g in sorted(got.items(), key=str)]
    else:
        info.append(f"{len(want)} (side, method, route) entries, {sum(w['count'] for w in want.values())} "
                    "requests, counts and codes all equal")
elif what == "requests":
    # truth: the responses the program's server wrote (one per request)
    equal("requests", t.get("requests"), rep["requests"])
elif what == "conns":
    # truth: the program's accept()/accept4() calls that returned a socket, its connect() calls
    # that succeeded, and the connection ends it closed (two per connection: both ends are in
    # the target), every one in CLOSE or TIME_WAIT (/proc/net/tcp) before the program exited
    for f in ("accepted", "connected", "closed"):
        equal(f, tcp.get(f), rep[f])
    # closes the kernel ran no program for, found when the socket's memory was used again or
    # by the end-of-run sweep (bpf/net.bpf.c): counted in closed, so closed stays exact; shown
    # to explain a bytes mismatch in the same run. ARGS: the closes_unseen the run must show
    if tcp.get("closes_unseen"):
        info.append(f"closes_unseen: {tcp['closes_unseen']}")
    if args:
        equal("closes_unseen", tcp.get("closes_unseen"), int(args[0]))
elif what == "bytes":
    # truth: what the program's read/recv and write/send calls on its TCP sockets moved, both
    # ends summed; equal to the kernel's TCP_INFO bytes_received (less the FIN, which the
    # kernel counts as a byte) and bytes_sent of every socket before its close
    equal("bytes_in", tcp.get("bytes_in"), rep["bytes_in"])
    equal("bytes_out", tcp.get("bytes_out"), rep["bytes_out"])
    if bad and tcp.get("closes_unseen"):
        bad.append(f"{tcp['closes_unseen']} closes unseen: the kernel ran no program for them, "
                   "so their bytes are missing (bpf/net.bpf.c)")
elif what == "retransmits":
    # truth: the kernel's TCP_INFO total_retrans of every socket, read before its close; and
    # no resets: bpftrace on tcp:tcp_send_reset/tcp_receive_reset shows none in this mode
    equal("retransmits", tcp.get("retransmits"), rep["tcp_info"]["total_retrans"])
    equal("resets_sent", tcp.get("resets_sent"), 0)
    equal("resets_received", tcp.get("resets_received"), 0)
elif what == "ops":
    # truth: the program's own count of its socket calls, by iogap's op name (send = sendto,
    # recv = recvfrom, accept = accept and accept4), with their errors and bytes
    got = {f["op"]: f for f in t.get("file", []) if f.get("fd_kind") == "tcp"}
    for op, w in rep["ops"].items():
        g = got.get(op, {})
        for f in ("count", "errors", "bytes"):
            if g.get(f, 0) != w[f]:
                bad.append(f"{op}/tcp: {f} iogap {g.get(f, 0)}, workload {w[f]}")
    if bad:
        bad += ["iogap's tcp ops:"] + [f"  {op}: count {f['count']} errors {f['errors']} bytes {f['bytes']}"
                                       for op, f in sorted(got.items())]
    else:
        info.append("; ".join(f"{op} {w['count']}" for op, w in rep["ops"].items()) + ": all equal")
elif what == "acceptq":
    # truth: per connection, the program's clock from its connect() returning (the handshake is
    # done then) to the accept() that returned it (matched by port); the server slept
    # DELAY_MS before each accept, so the waits are about DELAY_MS, 2 x DELAY_MS, ...
    mine, truth = (tcp.get("accept_queue") or {}).get("mean", 0), rep["accept_queue"]["mean"]
    line = (f"accept_queue mean iogap {mine} ns, workload {truth} ns ({(mine - truth) / truth:+.2%}); "
            f"workload's waits {rep['accept_queue_ns']}")
    (info if abs(mine - truth) <= 0.10 * truth else bad).append(line)
elif what == "connect":
    # truth: SYN_SENT -> ESTABLISHED happens inside the connect() call, which the program
    # times, so iogap's mean is positive and at most the program's mean connect() time; on
    # loopback it is well below 1 ms (measured 15-100 us)
    cl, own = tcp.get("connect_lat") or {}, rep["connect_syscall"]["mean"]
    line = f"connect_lat iogap {cl}; workload's connect() calls {rep['connect_syscall_ns']} ns"
    ok = 0 < cl.get("mean", 0) <= own and 0 < cl.get("p50", 0) < 1000000 and cl.get("mean", 0) < 1000000
    (info if ok else bad).append(line)
elif what == "resets":
    # truth, from the kernel (bpftrace on tcp:tcp_send_reset and tcp:tcp_receive_reset around
    # this mode, kernel 6.18): each SO_LINGER {1, 0} close sends one RST from the client's
    # socket (reason TCP_STATE, state CLOSE) and the server's socket receives it (its next
    # read fails ECONNRESET, which the program checks). Each refused connect: the kernel
    # answers the SYN with an RST sent by no socket (skaddr NULL, reason NO_SOCKET: nobody's
    # reset, not the target's, though it fires in the target's context on loopback) and the
    # connecting socket receives it (SYN_SENT -> CLOSE, connect() fails ECONNREFUSED).
    # So: resets_sent = linger closes, resets_received = linger closes + refused connects.
    n_linger, n_refused = int(args[0]), int(args[1])
    if rep["linger_closes"] != n_linger or rep["refused"] != n_refused or rep["server_econnreset"] != n_linger:
        bad.append(f"the workload did not do what this test expects: {rep}")
    equal("resets_sent", tcp.get("resets_sent"), n_linger)
    equal("resets_received", tcp.get("resets_received"), n_linger + n_refused)
elif what == "refused":
    # truth: the program's connect() calls that failed ECONNREFUSED
    equal("refused", tcp.get("refused"), rep["refused"])
print("\n".join(bad + info))
sys.exit(1 if bad else 0)
PYEOF
compare() { $PY "$tmp/compare.py" "$@"; }


# 1. mix as -- CMD: 12 connections (4 keep-alive with 6 requests each, 8 one-shot), 32
# requests over GET /items/{id} (200), GET /items/abc-not-found (404), POST /orders/{id}/pay
# (500), GET /health (200); write/read and send/recv, accept and accept4
if traced mix "$WL" mix "$tmp/mix-rep.json"; then
	o=$tmp/mix.json r=$tmp/mix-rep.json
	check "mix: http per side, method and route: counts, status classes and codes exact" compare http "$o" "$r"
	check "mix: requests equal the responses the server wrote" compare requests "$o" "$r"
	check "mix: accepted, connected, closed exact (vs the program's calls)" compare conns "$o" "$r"
	check "mix: bytes_in, bytes_out exact (vs the program's reads and writes, and TCP_INFO)" compare bytes "$o" "$r"
	check "mix: retransmits equal the kernel's TCP_INFO total_retrans; no resets" compare retransmits "$o" "$r"
	check "mix: socket syscalls (fd_kind tcp) counts, errors, bytes exact" compare ops "$o" "$r"
fi

# 2. mix as a --pid target: the workload stops itself before its first socket, iogap attaches,
# then it runs
trace_stopped_pid "$tmp/pid.json" "$tmp/pid.err" "$WL" --stop mix "$tmp/pid-rep.json"
case $? in
0)
	o=$tmp/pid.json r=$tmp/pid-rep.json
	check "--pid target: http per side, method and route exact" compare http "$o" "$r"
	check "--pid target: requests equal the responses the server wrote" compare requests "$o" "$r"
	check "--pid target: accepted, connected, closed exact" compare conns "$o" "$r"
	check "--pid target: bytes_in, bytes_out exact" compare bytes "$o" "$r" ;;
1)
	not_ok "--pid target: iogap did not start"
	sed 's/^/# /' "$tmp/pid.err" ;;
*)
	not_ok "--pid target: iogap did not end when its target exited" ;;
esac

# 3. accept queue: 5 clients connect, then the server sleeps 100 ms before each accept()
if traced acceptq "$WL" acceptq "$tmp/acceptq-rep.json" $ACCEPTQ_DELAY_MS; then
	o=$tmp/acceptq.json r=$tmp/acceptq-rep.json
	check "acceptq: accept_queue mean within 10% of the program's connect-to-accept times" compare acceptq "$o" "$r"
	check "acceptq: connect_lat positive, below 1 ms, within the program's connect() calls" compare connect "$o" "$r"
	# a close the kernel ran no program for is counted all the same (bpf/net.bpf.c: new_life,
	# and the end-of-run sweep; before the sweep, 9 of 10 in 1 of 7 runs of make check)
	check "acceptq: accepted, connected, closed exact" compare conns "$o" "$r"
fi

# 4. resets: SO_LINGER {1, 0} closes and connects to a port nobody listens on
if traced resets "$WL" resets "$tmp/resets-rep.json"; then
	o=$tmp/resets.json r=$tmp/resets-rep.json
	check "resets: resets_sent $N_LINGER, resets_received $((N_LINGER + N_REFUSED)) (linger closes; + refused connects' RSTs)" \
		compare resets "$o" "$r" $N_LINGER $N_REFUSED
	check "resets: refused exact (the program's ECONNREFUSED connects)" compare refused "$o" "$r"
fi

# 5. acceptq beside another process's connection churn: event_rate (tools/bench/overhead), not
# traced, makes 8,000 loopback connections a second while 100 runs of acceptq (5 connections,
# 5 ms before each accept) are traced. Their softirqs interrupt iogap's TCP state program in
# the workload's tasks: the kernel skips such a nested run, and the few changes it runs no
# program for at all are found when the socket's memory is used again (bpf/net.bpf.c: the
# nested twin, new_life). Ground truth: the sum of the 100 runs' own counts, and no loss
# counted (lost.program_misses 0). Measured (2026-12-03): with neither, this failed 2 of 2
# runs (closed 999 of 1000, program_misses 2); with the twin alone, closed was 998-999 in 3 of
# 3 such loads; with new_life alone, program_misses was 2 in 2 of 3; with both, 1000 and 0 in
# each of 18 (14 by hand, 4 of this test).
AQ_RUNS=100
if cc -O2 -o "$tmp/event_rate" "$ROOT/tools/bench/overhead/event_rate.c" -lsqlite3 2>"$tmp/event_rate.err"; then
	"$tmp/event_rate" conn 8000 60 >/dev/null 2>&1 &
	churn=$!
	on_exit end_pid $churn
	sleep 0.5
	if traced aqload /bin/bash -c 'for i in $(seq '$AQ_RUNS'); do "$1" acceptq "$2/aqload-$i.json" 5 || exit 1; done' \
		aqload "$WL" "$tmp"; then
		end_pid $churn
		$PY - "$tmp" $AQ_RUNS >"$tmp/aqload-rep.json" <<'PYEOF'
import json, sys
runs = [json.load(open(f"{sys.argv[1]}/aqload-{i}.json")) for i in range(1, int(sys.argv[2]) + 1)]
print(json.dumps({k: sum(r[k] for r in runs) for k in ("accepted", "connected", "closed")}))
PYEOF
		check "acceptq beside 8,000 connections/s: accepted, connected, closed exact over $AQ_RUNS runs, nothing missed" \
			compare conns "$tmp/aqload.json" "$tmp/aqload-rep.json"
	fi
	end_pid $churn
else
	not_ok "acceptq beside 8,000 connections/s: event_rate builds"
	sed 's/^/# /' "$tmp/event_rate.err"
fi

# 6. closes no program ran for: IOGAP_TEST_UNSEEN_CLOSES=1 has iogap's programs pass over every
# change to CLOSE, as the kernel now and then runs none for one (README, Known limits). The
# end-of-run sweep (bpf/net.bpf.c) counts each connection whose socket has left its network
# namespace's TCP hash tables, and none still open. Ground truth: held.py's own connections and
# closes, both ends of each in the target. Without the sweep, closed was 0.
cat >"$tmp/held.py" <<'PYEOF'
import json, os, signal, socket, sys, time
# N loopback connections, both ends here; the first K closed at once (REPORT written then),
# the rest once the file GO exists
n, k, rep, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
if "--stop" in sys.argv:
    os.kill(os.getpid(), signal.SIGSTOP)
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(n)
pairs = []
for i in range(n):
    c = socket.create_connection(srv.getsockname())
    pairs.append((c, srv.accept()[0]))
for c, s in pairs[:k]:
    c.close(); s.close()
with open(rep + ".tmp", "w") as f:
    json.dump({"accepted": n, "connected": n, "closed": 2 * k}, f)
os.rename(rep + ".tmp", rep)
while not os.path.exists(go):
    time.sleep(0.01)
for c, s in pairs[k:]:
    c.close(); s.close()
PYEOF
touch "$tmp/go-now"
trace_env=(IOGAP_TEST_UNSEEN_CLOSES=1)
if traced unseen /usr/bin/python3 "$tmp/held.py" 10 10 "$tmp/unseen-rep.json" "$tmp/go-now"; then
	check "closes no program ran for, -- CMD: all 20 found by the end-of-run sweep, closed exact" \
		compare conns "$tmp/unseen.json" "$tmp/unseen-rep.json" 20
fi
# in a network namespace of its own, traced by --pid and ended (SIGINT) while 6 of its 10
# connections are still open: the sweep enters that namespace and finds those 6 there
unshare -n /bin/sh -c 'ip link set lo up && exec /usr/bin/python3 "$@"' sh "$tmp/held.py" 10 4 \
	"$tmp/unseen-ns-rep.json" "$tmp/go-ns" --stop &
holder=$!
on_exit end_pid $holder
for _ in $(seq 50); do grep -q '^State:.*T' /proc/$holder/status 2>/dev/null && break; sleep 0.1; done
env IOGAP_TEST_UNSEEN_CLOSES=1 "$IOGAP" trace -j -p $holder -o "$tmp/unseen-ns.json" 2>"$tmp/unseen-ns.err" &
ig=$!
on_exit end_pid $ig
if wait_for_text "$tmp/unseen-ns.err" tracing; then
	kill -CONT $holder
	for _ in $(seq 100); do [[ -s $tmp/unseen-ns-rep.json ]] && break; sleep 0.1; done
	kill -INT $ig
	wait $ig
	rc=$?
	touch "$tmp/go-ns"
	wait $holder
	if [[ $rc -eq 0 && -s $tmp/unseen-ns.json ]]; then
		check "closes no program ran for, own network namespace, 6 of 10 connections still open: the 8 closed ends found, closed exact" \
			compare conns "$tmp/unseen-ns.json" "$tmp/unseen-ns-rep.json" 8
	else
		not_ok "closes no program ran for, own network namespace: iogap exited $rc"
		sed 's/^/# /' "$tmp/unseen-ns.err" | tail -5
	fi
else
	not_ok "closes no program ran for, own network namespace: iogap did not start"
	sed 's/^/# /' "$tmp/unseen-ns.err" | tail -5
fi
end_pid $holder
# ... and in a namespace gone with its only process by the end: the sweep cannot enter it, and
# says so (the closes stay uncounted, as the README's Known limits say)
if traced unseen-gone /usr/bin/unshare -n /bin/sh -c 'ip link set lo up && exec /usr/bin/python3 "$@"' sh \
	"$tmp/held.py" 3 3 "$tmp/unseen-gone-rep.json" "$tmp/go-now"; then
	check "closes no program ran for, namespace gone: the exact message, closed 0" $PY - "$tmp/unseen-gone.json" \
		"$tmp/unseen-gone.err" <<'PYEOF'
import json, sys
t = json.load(open(sys.argv[1]))["targets"][0]["tcp"]
err = open(sys.argv[2]).read()
want = ("iogap: 6 connections still open in a network namespace no process is in any more: if one "
        "closed and the kernel ran no program for it, it is not counted\n")
print(f"closed {t['closed']}, accepted {t['accepted']}, stderr: {err!r}")
sys.exit(0 if want in err and t["closed"] == 0 and t["accepted"] == 3 else 1)
PYEOF
fi
trace_env=()

# listen-queue overflow: 8 non-blocking connects to a listener with backlog 1 that never
# accepts. Ground truth: the kernel queues backlog + 1 = 2 and drops the other 6 SYNs, each
# counted in TcpExt ListenOverflows/ListenDrops (the counters are the network namespace's;
# a SYN retransmitted within the run is counted again, so at least 6, at most 12).
cat >"$tmp/lq.py" <<'PYEOF'
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); port = s.getsockname()[1]
cs = []
for i in range(8):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    cs.append(c)
time.sleep(1.5)
PYEOF
if traced lq /usr/bin/python3 "$tmp/lq.py"; then
	check "listen queue: overflows and drops of the 6 connects beyond the queue" $PY - "$tmp/lq.json" <<'PYEOF'
import json, sys
t = json.load(open(sys.argv[1]))["targets"][0]["tcp"]
print(t["listen_overflows"], t["listen_drops"])
sys.exit(0 if 6 <= t["listen_overflows"] <= 12 and 6 <= t["listen_drops"] <= 12 else 1)
PYEOF
fi

after_cg=$(left_cgroups)
check "no cgroup left behind by an iogap that ended ($before_cg before, $after_cg after)" test "$after_cg" -le "$before_cg"
finish
