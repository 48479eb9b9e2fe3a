#!/bin/bash
# Recordings and their views (issue 8) on real runs: record a known workload, read it back.
# Ground truth: the live summary of the same run (record --json prints it), the workload's own
# counts (tests/bpf/workload.c, sqlite_workload.c), the file's bytes as written, and promtool.
source "$(dirname "$0")/../lib.sh"
need_root "report --json equals the live JSON of the same run" "recording mode 0600 (umask 0)" \
	"an interval per second of the run" "report text from the recording" \
	"record -o a char device (null): exit 0, mode 666 and the node kept" \
	"record -o a full device: exit 1, the node kept" "record -o a FIFO: its reader gets the whole recording" \
	"SIGKILL mid-run: recording readable, the loss told" "corrupt chunk: reported by offset, the rest read" \
	"not a recording: clear message" "report --html from a real recording" \
	"top --prometheus :0: the port the kernel chose printed" "top --prometheus: promtool check metrics" \
	"top --prometheus: exact counts of the workload" \
	"top --prometheus [::1]:0: the address in brackets, a scrape through it" "no cgroup left behind"

WL=$ROOT/.output/tests/workload
SQ=$ROOT/.output/tests/sqlite_workload
tmp=$(mktemp -d /tmp/iogap-rec.XXXXXX)
on_exit rm -rf "$tmp"
before_cg=$(left_cgroups)
mkdir -p "$tmp/d" "$tmp/d2"

# 1. Round trip: a SQLite script, then the file workload, 200 ms intervals
(umask 0; timeout 60 "$IOGAP" record -o "$tmp/run.iogap" -i 200ms --json -- \
	sh -c "$SQ script $tmp/t.db $tmp/sq.json && sleep 0.5 && $WL $tmp/d $tmp/wl.json" \
	>"$tmp/live.json" 2>"$tmp/rec.err")
rc=$?
if [[ $rc -ne 0 ]]; then
	not_ok "record exited $rc"
	sed 's/^/# /' "$tmp/rec.err"
fi
"$IOGAP" report "$tmp/run.iogap" --json >"$tmp/rep.json" 2>"$tmp/rep.err"
check "report --json equals the live JSON of the same run" cmp "$tmp/live.json" "$tmp/rep.json"
check "recording mode 0600 (umask 0)" test "$(stat -c %a "$tmp/run.iogap")" = 600
check "an interval per second of the run" $PY -c '
import json, re, sys
err = open(sys.argv[1]).read()
n = int(re.search(r"recorded (\d+) intervals", err).group(1))
dur = json.load(open(sys.argv[2]))["duration_ns"] / 1e9
# 200 ms intervals, the last one partial, from when tracing begins ("tracing" line): after
# iogap loaded its programs and attached the SQLite probes of the launched command, which the
# duration of the run includes (about 25 ms per probe on a VM where a breakpoint trap costs
# 6 us). The loop began before the SQLite attach line was printed (it follows the "tracing"
# line), so the intervals span at least the duration less the time of that line
m = re.search(r"\+([0-9.]+)s SQLite in pid", err)
attached = float(m.group(1)) if m else 0.0
assert (dur - attached) / 0.2 - 1.5 <= n <= dur / 0.2 + 1.5, (n, dur, attached)
print(n, "intervals in", dur, "s, SQLite attached at", attached, "s")' "$tmp/rec.err" "$tmp/live.json"
"$IOGAP" report "$tmp/run.iogap" >"$tmp/rep.txt" 2>&1
check "report text from the recording" $PY -c '
import json, re, sys
txt, t = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))["targets"][0]
for f in t["file"]:
    m = re.search(r"^  %s +%s +(\d+) " % (f["op"], f["fd_kind"]), txt, re.M)
    assert m and int(m.group(1)) == f["count"], (f["op"], f["fd_kind"], m and m.group(1), f["count"])
assert "SELECT" in txt
print(len(t["file"]), "rows equal")' "$tmp/rep.txt" "$tmp/live.json"

# 1b. -o naming what is not a regular file: written to as it is, its mode and node kept (iogap
# runs as root: it made /dev/null 0600 and, when a write failed, removed /dev/full). Ground
# truth: stat of nodes made here (the real /dev/null and /dev/full are left alone), and the
# recording read back from a FIFO's reader
mkfifo -m 644 "$tmp/fifo"
if mknod -m 666 "$tmp/null" c 1 3 && mknod -m 666 "$tmp/full" c 1 7 && (echo x >"$tmp/null") 2>/dev/null &&
	! (echo x >"$tmp/full") 2>/dev/null; then
	timeout 30 "$IOGAP" record -o "$tmp/null" -- true >/dev/null 2>"$tmp/null.err"
	rc=$?
	check "record -o a char device (null): exit 0, mode 666 and the node kept" bash -c \
		"[[ $rc -eq 0 && \$(stat -c '%F %a' '$tmp/null') == 'character special file 666' ]]"
	timeout 30 "$IOGAP" record -o "$tmp/full" -- true >/dev/null 2>"$tmp/full.err"
	rc=$?
	check "record -o a full device: exit 1, 'iogap: cannot write $tmp/full: No space left on device', the node kept" \
		bash -c "[[ $rc -eq 1 && \$(head -1 '$tmp/full.err') == 'iogap: cannot write $tmp/full: No space left on device' &&
			\$(stat -c '%F %a' '$tmp/full') == 'character special file 666' ]]"
else
	skip "record -o a char device (null): exit 0, mode 666 and the node kept" "cannot make device nodes in $tmp"
	skip "record -o a full device: exit 1, the node kept" "cannot make device nodes in $tmp"
fi
# the reader gives up after 90 s (an iogap that never opened the FIFO would leave it blocked)
timeout 90 cat "$tmp/fifo" >"$tmp/fromfifo.iogap" &
reader=$!
on_exit end_pid $reader
timeout 60 "$IOGAP" record -o "$tmp/fifo" --json -- "$WL" "$tmp/d" "$tmp/wlf.json" >"$tmp/fifo-live.json" 2>"$tmp/fifo.err"
rc=$?
wait $reader
"$IOGAP" report "$tmp/fromfifo.iogap" --json >"$tmp/fifo-rep.json" 2>"$tmp/fifo-rep.err"
check "record -o a FIFO: exit 0, its reader gets the whole recording (report --json equals the live JSON), the FIFO kept" \
	bash -c "[[ $rc -eq 0 && ! -s '$tmp/fifo-rep.err' && \$(stat -c '%F %a' '$tmp/fifo') == 'fifo 644' ]] &&
		cmp '$tmp/fifo-live.json' '$tmp/fifo-rep.json'"

# 2. SIGKILL mid-run: no trailer, every complete interval readable, the reader says so
"$IOGAP" record -o "$tmp/killed.iogap" -i 100ms -- sh -c "while :; do $WL $tmp/d2 $tmp/wl2.json; done" \
	2>"$tmp/killed.err" &
ig=$!
on_exit end_pid $ig
wait_for_text "$tmp/killed.err" tracing
sleep 1.2
kill -9 $ig
wait $ig 2>/dev/null
# what iogap launched lives in its cgroup iogap-<pid>, which iogap's guard removes after it
# has ended what is in it (test_reliability checks that); should the guard fail, the test does
cg=$(cgroup2_mount)/iogap-$ig
on_exit 'for p in $(cat "'"$cg"'/cgroup.procs"); do kill -9 "$p"; done; rmdir "'"$cg"'"'
for _ in $(seq 50); do [[ -d $cg ]] || break; sleep 0.1; done
"$IOGAP" report "$tmp/killed.iogap" --json >"$tmp/killed.json" 2>"$tmp/killed-rep.err"
rc=$?
check "SIGKILL mid-run: recording readable, the loss told" $PY -c '
import json, sys
rc, err, d = int(sys.argv[1]), open(sys.argv[2]).read(), json.load(open(sys.argv[3]))
assert rc == 0, rc
assert "no trailer" in err, err
t = d["targets"][0]
assert t["syscalls"] > 0 and d["duration_ns"] >= 0.5e9, (t["syscalls"], d["duration_ns"])
print(err.strip())' $rc "$tmp/killed-rep.err" "$tmp/killed.json"

# 3. A byte flipped inside the third chunk's payload
$PY - "$tmp/run.iogap" "$tmp/corrupt.iogap" >"$tmp/off.txt" <<'PYEOF'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
off, n = 8, 0
while off < len(b):
    clen = struct.unpack_from("<I", b, off + 8)[0]
    n += 1
    if n == 3:
        b[off + 24 + clen // 2] ^= 0xFF
        print(off)
        break
    off += 24 + clen
open(sys.argv[2], "wb").write(b)
PYEOF
"$IOGAP" report "$tmp/corrupt.iogap" --json >/dev/null 2>"$tmp/corrupt.err"
rc=$?
check "corrupt chunk: reported by offset, the rest read" bash -c \
	"[[ $rc -eq 0 ]] && grep -q 'corrupt chunk at byte $(cat "$tmp/off.txt")' '$tmp/corrupt.err'"
echo "just text" >"$tmp/not.iogap"
"$IOGAP" report "$tmp/not.iogap" >/dev/null 2>"$tmp/not.err"
rc=$?
check "not a recording: clear message" bash -c "[[ $rc -eq 1 ]] &&
	grep -qx 'iogap: cannot read $tmp/not.iogap: not an iogap recording (bad magic)' '$tmp/not.err'"

# 4. HTML from the real recording
"$IOGAP" report "$tmp/run.iogap" --html "$tmp/run.html" 2>"$tmp/html.err"
check "report --html from a real recording" bash -c "grep -q 'id=\"chart-cdf\"' '$tmp/run.html' &&
	grep -q 'id=\"chart-budget-time\"' '$tmp/run.html' && grep -q 'id=\"chart-p99\"' '$tmp/run.html' && ! grep -qE '(src|href)=\"https?:' '$tmp/run.html'"

# metrics_url FILE HOST: the URL iogap's stderr in FILE says it serves on HOST (a regex)
metrics_url() { sed -n "s|^iogap: serving metrics at \(http://$2:[0-9]*/metrics\)\$|\1|p" "$1"; }

# 5. Prometheus: scrape while the workload's command is held at its end. Port 0: the kernel
# picks a free port, iogap prints it (a fixed port can be taken, even by a client's TIME_WAIT
# left by an earlier test, and then iogap cannot listen)
"$IOGAP" top --prometheus 127.0.0.1:0 -i 200ms -- sh -c "$WL $tmp/d $tmp/wl3.json && sleep 30" \
	>/dev/null 2>"$tmp/prom.err" &
ig=$!
on_exit end_pid $ig
wait_for_text "$tmp/prom.err" tracing
for _ in $(seq 300); do [[ -s $tmp/wl3.json ]] && break; sleep 0.1; done
sleep 0.5
url=$(metrics_url "$tmp/prom.err" '127\.0\.0\.1')
check "top --prometheus :0: the port the kernel chose printed" test -n "$url"
$PY -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
	"$url" >"$tmp/metrics.prom" 2>"$tmp/scrape.err"
kill -INT $ig
wait $ig
if command -v promtool >/dev/null; then
	check "top --prometheus: promtool check metrics" bash -c \
		"[[ -s '$tmp/metrics.prom' ]] && promtool check metrics <'$tmp/metrics.prom'"
else
	not_ok "top --prometheus: promtool check metrics (promtool missing: make deps installs prometheus)"
fi
check "top --prometheus: exact counts of the workload" $PY -c '
import json, re, sys
m, rep = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))["count"]
# only the workload does these (sh and sleep, also traced, pread their libraries)
for k in ("pwrite/file", "fsync/file", "rename/file", "read/unix", "write/pipe"):
    op, kind = k.split("/")
    v = re.search(r"^iogap_io_ops_total\{container=\"sh\",op=\"%s\",fd_kind=\"%s\"\} (\d+)$" % (op, kind), m, re.M)
    assert v and int(v.group(1)) == rep[k], (k, v and v.group(1), rep[k])
print("equal")' "$tmp/metrics.prom" "$tmp/wl3.json"
# what iogap and the scrape said, when there was nothing to compare
[[ -s $tmp/metrics.prom && -s $tmp/wl3.json ]] || sed 's/^/# /' "$tmp/prom.err" "$tmp/scrape.err"
# 6. The same on IPv6's loopback: the address printed in brackets, and a scrape through it
name="top --prometheus [::1]:0: the address in brackets, a scrape through it"
if $PY -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	"$IOGAP" top --prometheus '[::1]:0' -i 200ms -- sleep 30 >/dev/null 2>"$tmp/prom6.err" &
	ig=$!
	on_exit end_pid $ig
	wait_for_text "$tmp/prom6.err" tracing
	url=$(metrics_url "$tmp/prom6.err" '\[::1\]')
	check "$name" $PY -c 'import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1]).read().decode()
assert "iogap_build_info{" in body, body[:300]
print("scraped", len(body), "bytes")' "${url:-no address printed: $(head -3 "$tmp/prom6.err")}"
	kill -INT $ig
	wait $ig
else
	skip "$name" "no IPv6 loopback here (::1 cannot be bound)"
fi
check "no cgroup left behind" test "$(left_cgroups)" -le "$before_cg"
finish
