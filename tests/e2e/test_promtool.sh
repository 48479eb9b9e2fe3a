#!/bin/bash
# The Prometheus view (issue 8) against Prometheus' own checker: `promtool check metrics` parses
# the exposition of a hand-built model (written by .output/tests/test_views, with one of odd
# label values beside it) and lints it (HELP text, counter and unit names, ...): it must say
# nothing. Then the histograms' le boundaries:
# the same fixed list in every series, so rate() of a bucket works across scrapes.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/unit/views.sh"
PROM=$VIEWS/metrics.prom
views_setup promtool "$PROM" "promtool check metrics"

# the checker must be able to fail: a counter without _total and without HELP is linted
if printf '# TYPE iogap_bad counter\niogap_bad 1\n' | promtool check metrics >"$tmp/bad.out" 2>&1 ||
	[[ ! -s $tmp/bad.out ]]; then
	not_ok "promtool check metrics does not report a badly named counter"
else
	ok "promtool check metrics reports a badly named counter"
fi

for f in "$PROM" "$VIEWS/labels.prom"; do
	promtool check metrics <"$f" >"$tmp/check.out" 2>&1
	rc=$?
	if [[ $rc -eq 0 && ! -s $tmp/check.out ]]; then
		ok "promtool check metrics ${f##*/}: no error, no lint warning ($(grep -c '^# TYPE' "$f") families)"
	else
		not_ok "promtool check metrics ${f##*/} exited $rc"
		sed 's/^/# /' "$tmp/check.out" | head -40
	fi
done

# every histogram series has the same le list, ending with +Inf
awk '/^[^#]*_bucket\{/ { match($0, /,?le="[^"]*"\} [0-9]+$/); series = substr($0, 1, RSTART - 1)
		le = substr($0, RSTART, RLENGTH); sub(/^,?le="/, "", le); sub(/".*/, "", le)
		les[series] = les[series] le " " }
	END { for (s in les) print les[s] }' "$PROM" | sort | uniq -c >"$tmp/les"
if [[ $(wc -l <"$tmp/les") -eq 1 ]] && grep -q ' +Inf $' "$tmp/les"; then
	ok "histograms share one fixed le list ($(awk '{ print $1 }' "$tmp/les") series, $(awk '{ print NF - 2 }' "$tmp/les") boundaries and +Inf)"
else
	not_ok "histograms' le lists differ"
	sed 's/^/# /' "$tmp/les" | cut -c1-200 | head
fi
finish
