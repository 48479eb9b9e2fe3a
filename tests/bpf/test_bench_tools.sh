#!/bin/bash
# The overhead benchmarks (tools/bench/overhead, README "Overhead") still build, load and print
# their tables: their floors' objects (built as the scripts build them) load, attach every
# program they have and leave none behind; short runs of sqlite_run and switches print a row
# per side with numbers, and sqlite_run's iogap saw the SELECT's steps (it warns otherwise);
# goals prints no row before anything is measured, and sqlite_run's in-memory figures after it;
# events, one short rate per kind, where iogap's counts must equal the generator's own (opens,
# requests on both sides, connections accepted and connected, executions of the template) with
# no drop and no lost count.
# Not a measurement: the figures of such short runs mean nothing on a shared machine.
source "$(dirname "$0")/../lib.sh"
need_root "the floor loader builds" "floor.bpf.o loads and attaches" "floor_sqlite.bpf.o loads and attaches" \
	"floor_apps.bpf.o loads and attaches" "floor_prepare.bpf.o loads and attaches" "sqlite_run prints its table" \
	"sqlite_run prints its prepare table" "goals: nothing measured" "goals: the step row is sqlite_run's" \
	"switches prints its table" "events: exact counts per kind"
cd "$ROOT" || exit 1
tmp=$(mktemp -d /tmp/iogap-test.XXXXXX)
on_exit rm -rf "$tmp"
# floor_start and floor_stop of the benchmarks (they use $out, where the loader is, and pids)
out=$tmp pids=() floor_pid=
source tools/bench/overhead/lib.sh
on_exit 'exec 9>&-; [[ -z $floor_pid ]] || end_pid "$floor_pid"'

lib=$(readlink -f "$(ldconfig -p | awk '$1 ~ /^libsqlite3\.so/ { print $NF; exit }')")
# names of the programs an object has (its SEC("...") functions)
progs_of() { readelf -sW "$1" | awk '$4 == "FUNC" { print $8 }' | sort -u; }
# names of the loaded programs whose name starts with floor_ (bpftool truncates to 15)
loaded_floor() { bpftool prog show 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "name" && $(i + 1) ~ /^floor_/) print $(i + 1) }' | sort -u; }

cc -O2 -o "$tmp/floor" tools/bench/overhead/floor.c -lbpf 2>"$tmp/cc.err"
check "the floor loader builds" test -x "$tmp/floor"
before=$(loaded_floor | wc -l)
# the prepare probe of floor_apps and floor_prepare (bare uprobe sections) where floor.c is told
export FLOOR_UPROBE="$lib:sqlite3_prepare_v2"
for obj in floor floor_sqlite floor_apps floor_prepare; do
	if ! clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -DSQLITE_LIB="\"$lib\"" -I. \
		-c "tools/bench/overhead/$obj.bpf.c" -o "$tmp/$obj.bpf.o" 2>"$tmp/$obj.err"; then
		not_ok "$obj.bpf.c builds"
		sed 's/^/# /' "$tmp/$obj.err"
		continue
	fi
	want=$(progs_of "$tmp/$obj.bpf.o")
	# the benchmarks' own way (lib.sh): the loader in $out holds the programs while fd 9 is open
	floor_start "$tmp/$obj.bpf.o" 2>"$tmp/floor.err"
	got=$(loaded_floor)
	check "$obj.bpf.o loads and attaches its $(echo "$want" | wc -w) programs ($(echo "$want" | tr '\n' ' '))" \
		bash -c '[[ -n $1 && $(grep -c attached "$3") -eq 1 ]] && for p in $1; do grep -qx "$p" <<<"$2" || exit 1; done' _ "$want" "$got" "$out/floor.out"
	floor_stop
	# the kernel frees a released program after a grace period: give it up to 5 s
	for _ in $(seq 50); do [[ $(loaded_floor | wc -l) -eq $before ]] && break; sleep 0.1; done
	check "$obj.bpf.o: no floor program left once its loader ended" test "$(loaded_floor | wc -l)" -eq "$before"
done

# goals: the figures the scripts leave (here the test's own directory, not the bench's)
export IOGAP_GOALS_DIR=$tmp/goals
tools/bench/overhead/goals >"$tmp/goals0.out" 2>&1
rc=$?
check "goals: nothing measured yet: exit 1, no row, each script named (exit $rc)" \
	bash -c '[[ $1 -eq 1 && $(grep -c "^|" "$2") -eq 2 ]] && grep -q "^Not measured yet: run, apps, sqlite_run " "$2"' _ $rc "$tmp/goals0.out"

# sqlite_run: 2 rounds of 10000 steps; a row per database with its 8 figures, no warning
tools/bench/overhead/sqlite_run 2 10000 >"$tmp/sq.out" 2>&1
rc=$?
check "sqlite_run prints its table: a row per database with 8 figures, iogap saw the steps (exit $rc)" \
	bash -c '[[ $1 -eq 0 ]] && ! grep -q WARNING "$2" &&
		[[ $(grep -cE "^\| (:memory:|\S+sqlite_step\.db) (\| -?[0-9]+\.[0-9]+ ){8}\|$" "$2") -eq 2 ]]' _ $rc "$tmp/sq.out"
check "sqlite_run prints its prepare table: none, public, iogap, iogap-public rows with figures" \
	bash -c 'for m in none public iogap iogap-public; do grep -qE "^\| $m \| [0-9]+\.[0-9]+ \| (-|-?[0-9]+\.[0-9]+) \|$" "$1" || exit 1; done' _ "$tmp/sq.out"
[[ $rc -eq 0 ]] || sed 's/^/# /' "$tmp/sq.out" | tail -20
# the goals' step row: the :memory: row's iogap added (column 8), floor added (7), uprobes added
# (6), and half the range of the two rounds' iogap - none (the raw lines)
tools/bench/overhead/goals >"$tmp/goals1.out" 2>&1
want=$(python3 - "$tmp/sq.out" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
row = next(l for l in lines if l.startswith("| :memory: |")).split("|")
raw = {l.split()[0]: [float(x) for x in l.split()[2:]] for l in lines if l.startswith("  ") and l.split()[1:2] == [":memory::"]}
d = [t - n for t, n in zip(raw["iogap"], raw["none"])]
spread = float("%.3f" % ((max(d) - min(d)) / 2))
print("| ≤ 1.7 us per sqlite3_step | %.2f us (rounds ±%g us) | %.2f us (its two uprobe traps alone %.2f) | "
      % (float(row[8]), spread, float(row[7]), float(row[6])))
EOF
)
check "goals: the step row is sqlite_run's in-memory figures, the others not measured" \
	bash -c '[[ -n $1 ]] && grep -qF -- "$1" "$2" && grep -q "^Not measured yet: run, apps " "$2"' _ "$want" "$tmp/goals1.out"
grep -q -F -- "$want" "$tmp/goals1.out" || { echo "# want: $want"; sed 's/^/# /' "$tmp/goals1.out"; }

# switches: 1 round of 2000 round trips; a row per side
tools/bench/overhead/switches 1 2000 >"$tmp/sw.out" 2>&1
rc=$?
check "switches prints its table: none, floor, iogap-file, iogap-budget, iogap rows with figures (exit $rc)" \
	bash -c '[[ $1 -eq 0 ]] && for m in none floor iogap-file iogap-budget iogap; do grep -qE "^\| $m \| [0-9]+ \|" "$2" || exit 1; done' _ $rc "$tmp/sw.out"
[[ $rc -eq 0 ]] || sed 's/^/# /' "$tmp/sw.out" | tail -20

# events: 1 s at 2000/s of each kind, once; ground truth: the generator's own count of what it
# made (event_rate.c), which the script compares with iogap's JSON ("(short)" when not exact)
KINDS="open http conn sql" tools/bench/overhead/events 1 1 2000 >"$tmp/ev.out" 2>&1
rc=$?
for kind in open http conn sql; do
	check "events: $kind at 2000/s: iogap's count equals the generator's, no drop, no lost count (exit $rc)" \
		python3 -c '
import re, sys
rc, kind, out = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read()
m = re.search(r"^\| %s \| 2000 \| \d+ \| (\d+) / (\d+) \| (\d+) \| (\d+) \|$" % kind, out, re.M)
seen, made, drops, lost = map(int, m.groups())
# the loader opens a few files of its own before the generator runs
assert rc == 0 and made >= 1000 and drops == lost == 0 and (seen >= made if kind == "open" else seen == made)' \
		$rc "$kind" "$tmp/ev.out"
done
[[ $rc -eq 0 ]] || sed 's/^/# /' "$tmp/ev.out" | tail -20
grep "^| " "$tmp/ev.out" | sed 's/^/# /'
finish
