# Shared by the shell tests: TAP output, root check, cleanup of everything a test starts.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IOGAP=${IOGAP:-$ROOT/.output/iogap}   # make check-asan sets the sanitized build
PY=/usr/bin/python3
tap_n=0
tap_failed=0
cleanups=()

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }
# check "description" command...: ok if the command succeeds; its output is shown on failure
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
}
on_exit() { cleanups+=("$*"); }
main_pid=$BASHPID
run_cleanups() {
	local i
	# a forked child that is signalled before it execs runs the traps too: not its business
	[[ $BASHPID == "$main_pid" ]] || return 0
	for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do eval "${cleanups[i]}" >/dev/null 2>&1; done
}
trap 'run_cleanups' EXIT
trap 'exit 130' INT TERM
finish() { echo "1..$tap_n"; [[ $tap_failed -eq 0 ]]; exit $?; }

# need_root NAME...: skip the named checks when not root (CI runs as root, so they run there)
need_root() {
	if [[ $(id -u) -ne 0 ]]; then
		local name
		for name in "$@"; do skip "$name" "needs root (BPF)"; done
		finish
	fi
}

# Ends a process this test started (by PID), waiting for it.
end_pid() {
	local pid=$1
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
}

# Waits until FILE contains TEXT (at most SECONDS).
wait_for_text() {
	local file=$1 text=$2 secs=${3:-20}
	for _ in $(seq $((secs * 10))); do
		grep -q "$text" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# traced NAME CMD...: iogap trace -j -o $tmp/NAME.json -- CMD (the test's $tmp); says not ok
# if iogap or CMD failed
# (trace_env, VAR=VALUE for iogap's environment, holds for traced and trace_stopped_pid)
trace_env=()
traced() {
	local name=$1 rc
	shift
	timeout --foreground -k 5 60 env ${trace_env[@]+"${trace_env[@]}"} "$IOGAP" trace -j -o "$tmp/$name.json" -- "$@" \
		2>"$tmp/$name.err"
	rc=$?
	[[ $rc -eq 0 && -s $tmp/$name.json ]] && return 0
	not_ok "$name: iogap exited $rc"
	sed 's/^/# /' "$tmp/$name.err" | tail -20
	return 1
}

# trace_stopped_pid OUT.json ERR CMD...: CMD stops itself (SIGSTOP) before its measured work;
# iogap attaches with -p, CMD is continued, and iogap must end by itself once CMD (and the
# children it forked) exited. Returns 0 then, 1 if iogap did not start, 2 if it did not end; an
# exit status other than 0 (a sanitizer's abort in make check-asan, say) is a failure of its own.
# Optional: the array trace_env (VAR=VALUE for iogap's environment) and while_tracing (a
# command run with iogap's PID once it traces, before CMD is continued).
while_tracing=
trace_stopped_pid() {
	local out=$1 err=$2 wl ig
	shift 2
	"$@" &
	wl=$!
	on_exit end_pid $wl
	for _ in $(seq 50); do grep -q '^State:.*T' /proc/$wl/status 2>/dev/null && break; sleep 0.1; done
	env ${trace_env[@]+"${trace_env[@]}"} "$IOGAP" trace -j -p $wl -o "$out" 2>"$err" &
	ig=$!
	on_exit end_pid $ig
	wait_for_text "$err" tracing || return 1
	[[ -z $while_tracing ]] || $while_tracing $ig
	kill -CONT $wl
	wait $wl
	for _ in $(seq 100); do kill -0 $ig 2>/dev/null || break; sleep 0.1; done
	kill -0 $ig 2>/dev/null && return 2
	local rc=0
	wait $ig || rc=$?
	[[ $rc -eq 0 ]] || { not_ok "iogap trace -p $* exited with status $rc"; sed 's/^/# /' "$err" | tail -5; }
	return 0
}

# IDs of iogap's BPF programs loaded now (names start with iogap_), and of their links.
iogap_prog_ids() { bpftool prog show 2>/dev/null | awk '/ name iogap_/ { sub(":", "", $1); print $1 }' | sort; }
iogap_link_ids() { # PROG_IDS...
	[[ $# -eq 0 ]] && return
	bpftool link show 2>/dev/null | awk -v ids=" $* " '/^[0-9]+:/ { id = $1; sub(":", "", id) }
		/ prog [0-9]+/ { for (i = 1; i < NF; i++) if ($i == "prog" && index(ids, " " $(i + 1) " ")) print id }' | sort
}

# iogap-<pid> cgroups whose iogap is gone: what an iogap left behind (one still running, such
# as another instance on the machine, is not counted).
left_cgroups() {
	local d pid n=0
	for d in "$(cgroup2_mount)"/iogap-*; do
		[[ -d $d ]] || continue
		pid=${d##*/iogap-}
		kill -0 "$pid" 2>/dev/null || n=$((n + 1))
	done
	echo $n
}

# remove_test_cgroups DIR: ends what is left in a cgroup directory the test made and in its
# sub-cgroups (only the test's own processes live there), then removes them and DIR
remove_test_cgroups() {
	local par=$1 d p
	for d in "$par"/*/ "$par"/; do
		[[ -d $d ]] || continue
		for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	for _ in $(seq 50); do
		rmdir "$par"/*/ 2>/dev/null
		rmdir "$par" 2>/dev/null && return 0
		[[ -d $par ]] || return 0
		sleep 0.1
	done
	return 1
}

cgroup2_mount() { awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo; }
