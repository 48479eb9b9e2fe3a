#!/bin/bash
# How iogap starts and ends: preflight errors with their exit codes, SIGTERM/SIGINT print the
# summary, SIGKILL leaves no BPF program or link (checked with bpftool), launched commands'
# cgroups are removed (after SIGKILL by its guard; stale ones by the next iogap).
source "$(dirname "$0")/../lib.sh"
need_root "preflight errors" "SIGTERM prints the summary and exits 0" "SIGINT prints the summary" \
	"SIGKILL leaves no BPF program or link" "command exit status"

tmp=$(mktemp -d /tmp/iogap-test.XXXXXX)
on_exit rm -rf "$tmp"
cgmnt=$(cgroup2_mount)

# expect_fail CODE TEXT ARGS...: iogap exits with CODE and says TEXT on stderr
expect_fail() {
	local code=$1 text=$2 rc
	shift 2
	"$IOGAP" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [[ $rc -eq $code ]] && grep -q -- "$text" "$tmp/err"; then
		ok "iogap $* -> exit $code, '$text'"
	else
		not_ok "iogap $* -> exit $rc (want $code), stderr: $(head -c 300 "$tmp/err")"
	fi
}
true &
dead=$!
wait $dead
expect_fail 1 "no such process" trace -p $dead -d 1
expect_fail 1 "cannot trace cgroup" trace --cgroup /no-such-cgroup-iogap -d 1
expect_fail 127 "command not found" trace -- no-such-command-iogap
echo data >"$tmp/noexec"; chmod 644 "$tmp/noexec"
expect_fail 126 "not an executable" trace -- "$tmp/noexec"
expect_fail 1 "BTF not found" trace --btf /nonexistent/vmlinux -d 1 -- true
expect_fail 2 "nothing to trace" trace -d 1
expect_fail 2 "unknown command" frobnicate -p 1
if id nobody >/dev/null 2>&1; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$IOGAP" trace -p 1 -d 1 >/dev/null 2>"$tmp/err"
	rc=$?
	check "non-root -> exit 1 'must run as root' (got $rc)" bash -c "[[ $rc -eq 1 ]] && grep -q 'must run as root' '$tmp/err'"
fi

# the command's exit status is iogap's
"$IOGAP" trace -o /dev/null -- sh -c 'exit 7' 2>/dev/null
check "command exit status is iogap's (got $?)" test $? -eq 7

# SIGTERM and SIGINT on a --pid target: summary printed, exit 0
sleep 1000 &
sl=$!
on_exit end_pid $sl
for sig in TERM INT; do
	"$IOGAP" trace -j -p $sl -o "$tmp/sig.json" 2>"$tmp/sig.err" &
	ig=$!
	on_exit end_pid $ig
	wait_for_text "$tmp/sig.err" tracing
	kill -$sig $ig
	wait $ig
	rc=$?
	check "SIG$sig prints the summary and exits 0 (got $rc)" bash -c "[[ $rc -eq 0 ]] && $PY -c 'import json; json.load(open(\"$tmp/sig.json\"))'"
done

# SIGKILL mid-run: the kernel drops every program and link with iogap's file descriptors.
# Checked by ID: the programs and links that appeared with this iogap are gone after it
# (another iogap may be running on the machine, and the kernel frees programs a bit later).
before=$(iogap_prog_ids)
"$IOGAP" trace -- /usr/bin/python3 -c 'import sqlite3, time; sqlite3.connect(":memory:"); time.sleep(1000)' \
	2>"$tmp/kill.err" &
ig=$!
on_exit end_pid $ig
wait_for_text "$tmp/kill.err" "SQLite in pid"
mine=$(comm -13 <(echo "$before") <(iogap_prog_ids))
# shellcheck disable=SC2086
links=$(iogap_link_ids $mine)
nprogs=$(echo "$mine" | grep -c .) nlinks=$(echo "$links" | grep -c .)
# 6 syscall/sched/cgroup programs, 12 SQLite, 4 TCP; 10 tracepoint links + 16 uprobe links
# (the command loaded libsqlite3)
check "while running: iogap's programs ($nprogs, want >= 22) and links ($nlinks, want >= 26) are loaded" \
	test "$nprogs" -ge 22 -a "$nlinks" -ge 26
cg="$cgmnt/iogap-$ig"
# should the guard fail: end exactly what is in the launched command's cgroup
on_exit 'for p in $(cat "'"$cg"'/cgroup.procs"); do kill -9 "$p"; done; rmdir "'"$cg"'"'
kill -9 $ig
wait $ig 2>/dev/null
# its guard ends the launched command and removes the cgroup
for _ in $(seq 50); do [[ -d $cg ]] || break; sleep 0.1; done
left_progs() { comm -12 <(echo "$mine") <(iogap_prog_ids) | grep -c .; }
for _ in $(seq 50); do [[ $(left_progs) -eq 0 ]] && break; sleep 0.1; done
# shellcheck disable=SC2086
left_links=$(comm -12 <(echo "$links") <(iogap_link_ids $mine $(iogap_prog_ids)) | grep -c .)
check "SIGKILL leaves none of its BPF programs ($(left_progs) left) or links ($left_links left)" \
	test "$(left_progs)" -eq 0 -a "$left_links" -eq 0
check "the launched command's cgroup is gone (removed by iogap's guard)" test ! -d "$cg"

# iogap started without stdin and stdout, or without stderr: the guard's pipe must not land
# on those descriptors (it would read /dev/null's EOF at once, or take iogap's messages for
# its "done"); the command runs, and after SIGKILL the guard removes its cgroup
for closed in '<&- >&-' '2>&-'; do
	eval "\"\$IOGAP\" trace -o \"\$tmp/closed.out\" -- sleep 60 $closed &"
	ig=$!
	cg=$cgmnt/iogap-$ig
	on_exit 'for p in $(cat "'"$cg"'/cgroup.procs"); do kill -9 "$p"; done; rmdir "'"$cg"'"'
	for _ in $(seq 50); do [[ -s $cg/cgroup.procs ]] && break; sleep 0.1; done
	sleep 0.5
	ran=$(cat "$cg/cgroup.procs" 2>/dev/null | grep -c .)
	kill -9 $ig
	wait $ig 2>/dev/null
	for _ in $(seq 50); do [[ -d $cg ]] || break; sleep 0.1; done
	check "started with $closed: the command runs in $cg ($ran processes), the guard removes it after SIGKILL" \
		bash -c "[[ $ran -eq 1 && ! -d '$cg' ]]"
done

# What a guard could not remove (it was killed too) is removed by the next iogap that needs
# the cgroup mount: an empty iogap-PID of a PID that no longer exists; that of a live process
# is left alone (ground truth: the directories themselves)
true &
gone=$!
wait $gone
sleep 60 &
holder=$!
on_exit end_pid $holder
stale=$cgmnt/iogap-$gone live=$cgmnt/iogap-$holder
mkdir "$stale" "$live"
on_exit rmdir "$stale" "$live"
"$IOGAP" trace -o /dev/null -- true 2>"$tmp/reap.err"
rc=$?
check "the next iogap (exit $rc) removes an empty iogap-PID of a PID gone, keeps that of a live one" \
	bash -c "[[ $rc -eq 0 && ! -d '$stale' && -d '$live' ]]"
end_pid $holder
rmdir "$live"

finish
