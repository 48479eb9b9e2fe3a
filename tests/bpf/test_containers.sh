#!/bin/bash
# Containers (issue 7): found by name from a Docker-layout cgroup and config.v2.json, followed
# when they start after iogap, reported when they stop; work in one never counted in another.
# Ground truth: the static workload's own counts (tests/bpf/workload.c) in each container, run
# a known number of times (alpha once, beta twice, gamma once), and the PID namespace's own
# view of each pid (/proc/PID/status NSpid).
source "$(dirname "$0")/../lib.sh"
need_root "ps finds the Docker-layout container by its config.v2.json name" "ps --json" \
	"--container NAME: exact counts" "--container ID-PREFIX" "unknown container: exit 1 and message" \
	"--all-containers: three targets" "each container's counts are its own, exactly" \
	"in-container pids reported" "a container started later is followed" "a stopped container is reported, its figures kept" \
	"a thread moving between cgroups" "no cgroup left behind"

WL=$ROOT/.output/tests/workload
tmp=$(mktemp -d /tmp/iogap-ctr.XXXXXX)
on_exit rm -rf "$tmp"
mnt=$(cgroup2_mount)
par=$mnt/iogaptest-$$
mkdir "$par" || { not_ok "cannot create $par"; finish; }
on_exit remove_test_cgroups "$par"

# start_ctr NAME RUNS: a container: its own cgroup, PID and mount namespaces; the workload runs
# RUNS times, the first stopped until the test continues it.
start_ctr() {
	local name=$1 runs=$2 cg=$par/$1 script i
	mkdir -p "$cg" "$tmp/$name"
	script="$WL --stop $tmp/$name/d1 $tmp/$name/r1.json"
	for ((i = 2; i <= runs; i++)); do script+=" && $WL $tmp/$name/d$i $tmp/$name/r$i.json"; done
	mkdir -p "$tmp/$name"/d{1..3}
	setsid bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec unshare --pid --fork --mount-proc sh -c "$1"' \
		_ "$cg" "$script" </dev/null >"$tmp/$name.log" 2>&1 &
}
# stopped_pid NAME: the host pid of the container's stopped workload, once it is stopped
stopped_pid() {
	local p
	for _ in $(seq 100); do
		for p in $(cat "$par/$1/cgroup.procs" 2>/dev/null); do
			grep -q '^State:.*T' /proc/$p/status 2>/dev/null && { echo "$p"; return 0; }
		done
		sleep 0.05
	done
	return 1
}
# wait_done NAME RUNS: every run of the workload wrote its report and the container is empty
wait_done() {
	for _ in $(seq 200); do
		[[ -s $tmp/$1/r$2.json && -z $(cat "$par/$1/cgroup.procs" 2>/dev/null) ]] && return 0
		sleep 0.05
	done
	return 1
}

# compare.py OUT.json NAME RUNS DIR [exact]: the target NAME's counts of the workload's own operations
# (pwrite, fsync, rename on files, reads and writes on its pipe and unix socket: sh and unshare
# do none of these) equal RUNS times the workload's report in DIR; with exact also pread
cat >"$tmp/compare.py" <<'PYEOF'
import json, sys
out, name, runs, dir = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3]), sys.argv[4]
exact = len(sys.argv) > 5
rep = json.load(open(f"{dir}/r1.json"))["count"]
keys = ["pwrite/file", "fsync/file", "rename/file", "write/pipe", "read/pipe", "write/unix", "read/unix"]
if exact:
    keys += ["pread/file"]
ts = [t for t in out["targets"] if t["name"] == name]
if len(ts) != 1:
    print(f"{len(ts)} targets named {name}: {[t['name'] for t in out['targets']]}")
    sys.exit(1)
got = {f["op"] + "/" + f["fd_kind"]: f["count"] for f in ts[0]["file"]}
bad = [f"{k}: iogap {got.get(k, 0)}, workload {runs} x {rep[k]}" for k in keys if got.get(k, 0) != runs * rep[k]]
print("\n".join(bad) or f"{name}: all equal ({runs} runs)")
sys.exit(1 if bad or out["drops"] else 0)
PYEOF

# 1. A Docker-layout container: the systemd driver's cgroup name, config.v2.json in a data root
id=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
dk=docker-$id.scope
mkdir -p "$tmp/docker/containers/$id"
cat >"$tmp/docker/containers/$id/config.v2.json" <<EOF
{"ID": "$id", "Created": "2026-12-01T10:00:00.000000000Z", "Path": "/docker-entrypoint.sh",
 "Args": ["nginx", "-g", "daemon off;"], "State": {"Running": true, "Pid": 4242},
 "Image": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
 "Name": "/web-test", "Driver": "overlay2",
 "Config": {"Hostname": "${id:0:12}", "Image": "nginx:1.25", "Labels": {"com.example.role": "test"}}}
EOF
start_ctr "$dk" 1
wl=$(stopped_pid "$dk")
"$IOGAP" ps --docker-root "$tmp/docker" >"$tmp/ps.txt" 2>&1
check "ps finds the Docker-layout container by its config.v2.json name" \
	grep -E "^web-test +${id:0:12} +docker +[0-9]+ +/iogaptest-$$/$dk" "$tmp/ps.txt"
"$IOGAP" ps --json --docker-root "$tmp/docker" >"$tmp/ps.json" 2>&1
check "ps --json" $PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = [c for c in d["containers"] if c["name"] == "web-test"][0]
assert c["id"] == sys.argv[2] and c["runtime"] == "docker" and c["image"] == "nginx:1.25", c
assert int(sys.argv[3]) in c["pids"], c
print(c)' "$tmp/ps.json" "$id" "$wl"
"$IOGAP" trace -j -o "$tmp/dk.json" --container web-test --docker-root "$tmp/docker" 2>"$tmp/dk.err" &
ig=$!
on_exit end_pid $ig
if wait_for_text "$tmp/dk.err" tracing; then
	kill -CONT "$wl"
	wait_done "$dk" 1
	kill -INT $ig
	wait $ig
	check "--container NAME: exact counts" $PY "$tmp/compare.py" "$tmp/dk.json" web-test 1 "$tmp/$dk" exact
else
	not_ok "--container NAME: iogap did not start"
	sed 's/^/# /' "$tmp/dk.err"
fi
rmdir "$par/$dk"
start_ctr "$dk" 1
stopped_pid "$dk" >/dev/null
timeout 20 "$IOGAP" trace -j -d 0.3 --container "${id:0:7}" --docker-root "$tmp/docker" >"$tmp/dk2.json" 2>"$tmp/dk2.err"
check "--container ID-PREFIX" $PY -c '
import json, sys
t = json.load(open(sys.argv[1]))["targets"]
assert len(t) == 1 and t[0]["name"] == "web-test" and t[0]["kind"] == "container", t
assert t[0]["container"]["id"] == sys.argv[2] and t[0]["container"]["runtime"] == "docker", t[0]["container"]
assert t[0]["container"]["image"] == "nginx:1.25"' "$tmp/dk2.json" "$id"
for p in $(cat "$par/$dk/cgroup.procs"); do kill -9 "$p"; done
wait 2>/dev/null
for _ in $(seq 50); do rmdir "$par/$dk" 2>/dev/null && break; sleep 0.1; done
"$IOGAP" trace -d 1 --container no-such-ctr-$$ >/dev/null 2>"$tmp/unknown.err"
rc=$?
check "unknown container: exit 1 and message" test $rc -eq 1 -a \
	"$(cat "$tmp/unknown.err")" = "iogap: cannot trace container no-such-ctr-$$: no container named or with id 'no-such-ctr-$$' (iogap ps lists them)"

# 2. --all-containers: alpha and beta now, gamma after iogap began; beta stops mid-run
start_ctr alpha 1
start_ctr beta 2
a=$(stopped_pid alpha) b=$(stopped_pid beta)
"$IOGAP" trace -j -i 200ms -o "$tmp/all.json" --all-containers 2>"$tmp/all.err" &
ig=$!
on_exit end_pid $ig
if wait_for_text "$tmp/all.err" tracing; then
	kill -CONT "$a" "$b"
	mkdir "$par/gamma"
	wait_for_text "$tmp/all.err" "container gamma started" 5
	start_ctr gamma 1
	kill -CONT "$(stopped_pid gamma)"
	wait_done alpha 1; wait_done beta 2; wait_done gamma 1
	rmdir "$par/beta"
	wait_for_text "$tmp/all.err" "container beta stopped" 5
	kill -INT $ig
	wait $ig
	check "--all-containers: three targets" $PY -c '
import json, sys
names = [t["name"] for t in json.load(open(sys.argv[1]))["targets"]]
assert all(names.count(n) == 1 for n in ("alpha", "beta", "gamma")), names
assert "iogaptest-'$$'" not in names, names' "$tmp/all.json"
	check "each container's counts are its own, exactly" bash -c "$PY $tmp/compare.py $tmp/all.json alpha 1 $tmp/alpha exact &&
		$PY $tmp/compare.py $tmp/all.json beta 2 $tmp/beta && $PY $tmp/compare.py $tmp/all.json gamma 1 $tmp/gamma"
	check "in-container pids reported" $PY -c '
import json, sys
t = [t for t in json.load(open(sys.argv[1]))["targets"] if t["name"] == "alpha"][0]
ns = dict(zip(t["pids"], t["container_pids"]))
# sh is pid 1 in its namespace, the workload it forked pid 2
assert ns.get(int(sys.argv[2])) == 2, ns
assert 1 in ns.values(), ns' "$tmp/all.json" "$a"
	check "a container started later is followed" grep -q "container gamma started (runtime cgroup, cgroup /iogaptest-$$/gamma)" "$tmp/all.err"
	check "a stopped container is reported, its figures kept" $PY -c '
import json, sys
t = [t for t in json.load(open(sys.argv[1]))["targets"] if t["name"] == "beta"][0]
assert t["container"]["state"] == "stopped" and t["container"]["stopped_ns"] > 0, t["container"]
assert t["syscalls"] > 0' "$tmp/all.json"
else
	not_ok "--all-containers: iogap did not start"
	sed 's/^/# /' "$tmp/all.err"
fi
# A thread that moves between two target cgroups (sys_enter keeps its slot in the thread's
# state, checked against its cgroup's struct address and slot_epoch): each cgroup's counts are
# exactly what the process did while in it. It leaves m2 for m3, not a target (its state still
# holds m2's address then), m2 is removed and m4 made, which the kernel may place at m2's
# address, and it moves into m4: cgroup_rmdir bumps slot_epoch, so m4 is not taken for m2.
# Ground truth: the script's own counts per file: 1000 preads of mv-a in m1, 2000 of mv-b in
# m2, 300 of mv-c in m3 and 400 of mv-d in m4 (neither traced), 500 of mv-e back in m1.
mkdir -p "$par/m1" "$par/m2" "$par/m3"
cat >"$tmp/mover.py" <<PYEOF
import os, time
def move(cg):
    with open("$par/" + cg + "/cgroup.procs", "w") as f:
        f.write(str(os.getpid()))
def preads(name, n):
    fd = os.open("$tmp/" + name, os.O_RDWR | os.O_CREAT, 0o600)
    os.write(fd, b"x")
    for _ in range(n):
        os.pread(fd, 1, 0)
    os.close(fd)
while not os.path.exists("$tmp/mv-go"):
    time.sleep(0.01)
preads("mv-a", 1000)
move("m2"); preads("mv-b", 2000)
move("m3"); preads("mv-c", 300)
os.rmdir("$par/m2"); time.sleep(0.3); os.mkdir("$par/m4"); move("m4"); preads("mv-d", 400)
move("m1"); preads("mv-e", 500)
PYEOF
setsid bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$par/m1" $PY "$tmp/mover.py" &
mover=$!
on_exit end_pid $mover
"$IOGAP" trace -j -o "$tmp/mv.json" --cgroup "$par/m1" --cgroup "$par/m2" -d 30 2>"$tmp/mv.err" &
ig=$!
on_exit end_pid $ig
for _ in $(seq 200); do grep -q tracing "$tmp/mv.err" && break; sleep 0.05; done
touch "$tmp/mv-go"
wait $mover
kill -INT $ig 2>/dev/null
wait $ig
check "a thread moving between cgroups: each target's counts are exactly its own (a target removed, a cgroup made)" \
	$PY - "$tmp/mv.json" "$tmp" <<'PYEOF'
import json, sys
out, d = json.load(open(sys.argv[1])), sys.argv[2]
want = {0: {"mv-a": 1000, "mv-e": 500}, 1: {"mv-b": 2000}}
bad = []
for i, t in enumerate(out["targets"][:2]):
    got = {f["path"][len(d) + 1:]: f["count"] for f in t["files"] if f["path"].startswith(d + "/mv-")}
    # each file: its opens' openat, its write, its preads and its close
    exp = {k: v + 3 for k, v in want[i].items()}
    if got != exp:
        bad.append(f"target {t['name']}: {got}, want {exp}")
print("\n".join(bad) or "each cgroup's counts are its own")
sys.exit(1 if bad else 0)
PYEOF
remove_test_cgroups "$par"
check "no cgroup left behind" test ! -e "$par"
finish
