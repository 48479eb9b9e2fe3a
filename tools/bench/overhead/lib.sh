# Shared by the overhead scripts (run, sqlite_run, apps, events, profile, switches, hotlines); they set $out
# and the pids array.

# wait_line FILE PATTERN PID: until FILE holds PATTERN (20 s), while PID lives.
wait_line() {
	local file=$1 pat=$2 pid=$3 i
	for ((i = 0; i < 400; i++)); do
		grep -q -- "$pat" "$file" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# prepare_site IOGAP LIB: the file offset (0x...) where IOGAP probes the prepares of LIB, its
# -v line's "common callee" when its check passed and that library is LIB (the same file);
# nothing when it probes the public functions (then a floor probes sqlite3_prepare_v2).
prepare_site() {
	local line path off
	line=$("$1" trace -v -o /dev/null -- true 2>&1 | grep -m1 "common callee at .*: checked") || true
	off=$(sed -n 's/.* common callee at +\(0x[0-9a-f]*\) of .*/\1/p' <<<"$line")
	path=$(sed -n 's/.* common callee at +0x[0-9a-f]* of \(.*\): checked.*/\1/p' <<<"$line")
	[[ -n $off && -n $path && $path -ef $2 ]] && echo "$off"
	return 0
}

# floor_start OBJ [SECTION_PREFIX...]: the empty programs of OBJ (those whose section starts
# with a PREFIX, if any) attached (tools/bench/overhead/floor), until floor_stop; the loader
# holds them while fd 9 (a fifo it reads) stays open.
floor_start() {
	local fifo="$out/floor.fifo"
	rm -f "$fifo"
	mkfifo "$fifo"
	"$out/floor" "$@" <"$fifo" >"$out/floor.out" &
	floor_pid=$!
	pids+=("$floor_pid")
	exec 9>"$fifo"
	wait_line "$out/floor.out" attached "$floor_pid" || { floor_stop; echo "floor did not attach ($1)" >&2; return 1; }
}
floor_stop() {
	exec 9>&-
	[[ -z ${floor_pid:-} ]] || wait "$floor_pid" 2>/dev/null || true
	floor_pid=
	rm -f "$out/floor.fifo"
}

# Ends a tracer by its PID: SIGINT (it prints its summary), again each second (one sent while a
# tool is still setting up can be lost), SIGKILL after 10 s.
end_tracer() {
	local p=$1 i st
	for ((i = 0; i < 100; i++)); do
		st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1 || true)   # gone: reaped
		[[ -n $st && $st != Z ]] || break
		((i % 10)) || kill -INT "$p" 2>/dev/null || true
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

# syscount_path: libbpf-tools' syscount where Debian installs it, or nothing.
syscount_path() {
	command -v syscount || command -v libbpf-syscount ||
		dpkg -L libbpf-tools 2>/dev/null | grep -m1 -E '/(libbpf-)?syscount$' || true
}
# syscount_start FILE ARGS...: $syscount_bin -L ARGS in the background, its output in FILE, its
# PID in syscount_pid (and pids); returns once it traces, 1 if it ended or does not trace after
# 20 s (then still running: the caller ends it).
syscount_start() {
	local f=$1
	shift
	stdbuf -oL "$syscount_bin" -L "$@" >"$f" 2>&1 8>&- &
	syscount_pid=$!
	pids+=("$syscount_pid")
	wait_line "$f" "Tracing syscalls" "$syscount_pid"
}

# end_children: ends and reaps the processes in pids that are still our children (a PID that
# ended long ago may belong to another process now).
end_children() {
	local p
	for p in ${pids[@]+"${pids[@]}"}; do
		[[ $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f2) == "$$" ]] || continue
		kill "$p" 2>/dev/null || true
	done
	for p in ${pids[@]+"${pids[@]}"}; do wait "$p" 2>/dev/null || true; done
}

# bpf_stats_start: the kernel's run-time statistics of every BPF program (run_time_ns, run_cnt)
# on (BPF_ENABLE_STATS) for as long as fd 7 stays open: they end with it, even if the script
# dies. Each run then includes the statistics' own clock reads (what an empty program shows).
bpf_stats_start() {
	rm -f "$out/stats.fifo"
	mkfifo "$out/stats.fifo"
	python3 -c 'import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(16)          # union bpf_attr: enable_stats.type = 0 (RUN_TIME)
fd = libc.syscall(321, 32, attr, 16)            # SYS_bpf, BPF_ENABLE_STATS
if fd < 0:
    sys.exit("cannot enable BPF statistics: " + os.strerror(ctypes.get_errno()))
print("on", flush=True)
sys.stdin.read()' <"$out/stats.fifo" >"$out/stats.out" &
	pids+=($!)
	exec 7>"$out/stats.fifo"
	wait_line "$out/stats.out" on "${pids[-1]}"
}
bpf_stats_stop() { exec 7>&-; rm -f "$out/stats.fifo"; }

# prog_ids_of PID: the ids of the BPF programs process PID holds a descriptor of (the prog_id
# lines of its /proc fdinfo), space-separated.
prog_ids_of() {
	cat "/proc/$1/fdinfo/"* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u | tr '\n' ' '
}

# bpf_stats_of PID: "name run_time_ns run_cnt" of every program process PID holds.
bpf_stats_of() {
	local ids
	ids=$(prog_ids_of "$1")
	bpftool prog show -j | python3 -c 'import json, sys
ids = {int(x) for x in sys.argv[1].split()}
for p in json.load(sys.stdin):
    if p["id"] in ids:
        print(p.get("name", "?"), p.get("run_time_ns", 0), p.get("run_cnt", 0))' "$ids"
}

# goal_put KEY VALUE: a figure issue 10's goals are read against (tools/bench/overhead/goals
# prints them), kept in .output/bench/goals/KEY (or $IOGAP_GOALS_DIR/KEY, relative to the
# repository's root, where the scripts run: a test's own) as "VALUE EPOCH COMMIT" (COMMIT with
# "+changes" when tracked files differ from it). goal_clear PATTERN...: a script's figures
# removed when it starts, so that none of an earlier run stays beside the new ones.
goal_dir() { echo "${IOGAP_GOALS_DIR:-.output/bench/goals}"; }
goal_put() {
	local c
	[[ -n $2 ]] || return 0      # nothing measured: no figure
	c=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	git diff --quiet HEAD 2>/dev/null || c+="+changes"
	mkdir -p "$(goal_dir)"
	echo "$2 $(date +%s) $c" >"$(goal_dir)/$1"
}
# half_range "A1 A2 ..." "B1 B2 ...": half the range of the rounds' differences Ai - Bi (the
# sides were run in the same rounds, interleaved), how far one run's figure can be trusted;
# nothing when the lists differ in length (a side failed in a round).
half_range() {
	awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); if (n != split(b, y, " ") || n < 2) exit
		lo = hi = x[1] - y[1]; for (i = 2; i <= n; i++) { d = x[i] - y[i]; if (d < lo) lo = d; if (d > hi) hi = d }
		printf "%.3f\n", (hi - lo) / 2 }'
}
goal_clear() {
	local p
	for p in "$@"; do rm -f "$(goal_dir)"/$p; done
}

# median: of the numbers on stdin, separated by spaces or newlines
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
