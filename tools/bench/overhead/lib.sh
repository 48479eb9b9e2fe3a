# Shared by the overhead scripts (run, sqlite_run, profile, switches); they set $out and the pids
# array.

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

# median: of the numbers on stdin, separated by spaces or newlines
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
