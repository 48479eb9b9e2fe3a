#!/bin/bash
# The HTML view (issue 8) in a real browser: headless Debian chromium opens the report of a
# hand-built model (written by .output/tests/test_views) and must log nothing to its console,
# have the charts in its DOM, and ask for nothing over the network (Chromium's own net log, the
# page's requests told apart from the browser's background ones by their file:// origin). A
# canary page with a console error and a remote image shows that both checks can fail. Then
# screenshots, desktop and phone sized, in .output/test-logs/views/.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/unit/views.sh"
HTML=$VIEWS/report.html
views_setup chromium "$HTML" "the report in headless chromium"

# browser NAME ARGS...: chromium with a fresh profile (removed with $tmp, also on failure), no
# name resolution, its log in $tmp/NAME.err and its net log in $tmp/NAME.net
browser() {
	local name=$1
	shift
	mkdir -p "$tmp/profile-$name"
	timeout -k 5 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--disable-dev-shm-usage --hide-scrollbars --user-data-dir="$tmp/profile-$name" \
		--host-resolver-rules="MAP * ~NOTFOUND" --enable-logging=stderr --v=0 \
		--log-net-log="$tmp/$name.net" "$@" 2>"$tmp/$name.err"
}

console_lines() { grep -E ':CONSOLE[:(]|Uncaught' "$tmp/$1.err"; }

# the URLs the page (origin file://) asked for; the browser's own requests have no origin
page_requests() {
	"$PY" - "$tmp/$1.net" <<'PYEOF'
import json, sys
text = open(sys.argv[1]).read().rstrip().rstrip(",")
try:
    log = json.loads(text)
except ValueError:                      # a log cut short: close it
    log = json.loads(text + "]}")
names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
for e in log["events"]:
    p = e.get("params") or {}
    if names.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in p and \
            (p.get("initiator") != "not an origin" or "file://" in p.get("network_isolation_key", "")):
        print(p["url"])
PYEOF
}

cat >"$tmp/canary.html" <<'EOF'
<!DOCTYPE html><html><head><title>canary</title></head>
<body><img src="http://192.0.2.1/canary.png" alt=""><script>console.error("iogap-canary")</script></body></html>
EOF
browser canary --dump-dom "file://$tmp/canary.html" >"$tmp/canary.dom"
if console_lines canary | grep -q iogap-canary && page_requests canary | grep -q 192.0.2.1; then
	ok "the checks see a canary page's console error and remote image"
else
	not_ok "the canary page's console error or request went unseen"
	tail -5 "$tmp/canary.err" | sed 's/^/# /'
fi

if browser report --dump-dom "file://$HTML" >"$tmp/report.dom" && [[ -s $tmp/report.dom ]]; then
	ok "chromium renders the report"
else
	not_ok "chromium failed on the report"
	tail -20 "$tmp/report.err" | sed 's/^/# /'
fi
if console_lines report >"$tmp/console"; then
	not_ok "console messages"
	sed 's/^/# /' "$tmp/console" | head -20
else
	ok "no console message (no error, no blocked load)"
fi
missing=
for id in chart-cdf chart-budget chart-rps chart-p99 summary latency budget over-time statements routes explain; do
	grep -q "id=\"$id\"" "$tmp/report.dom" || missing+=" $id"
done
if [[ -z $missing ]]; then
	ok "the DOM has the CDF, budget and over-time charts and every section"
else
	not_ok "missing from the DOM:$missing"
fi
if grep -q '&lt;img onerror=x&gt;' "$tmp/report.dom" && ! grep -qi '<img\|<script' "$tmp/report.dom"; then
	ok "user-controlled names stay text in the DOM (no img, no script element)"
else
	not_ok "a target name or route became markup"
fi
page_requests report >"$tmp/requests"
outside=$(grep -oiE '(src|href|action|xlink:href)="[^"#][^"]*"|https?://|url\([^#)][^)]*\)' "$HTML" | sort -u)
if [[ ! -s $tmp/requests && -z $outside ]]; then
	ok "no network request, no reference outside the file"
else
	not_ok "the page reaches outside itself"
	{ cat "$tmp/requests"; echo "$outside"; } | sed 's/^/# /' | head -20
fi

rm -f "$VIEWS/report.png" "$VIEWS/report-phone.png"
(cd "$tmp" && browser shot --window-size=1200,2400 --screenshot="$VIEWS/report.png" "file://$HTML")
(cd "$tmp" && browser phone --window-size=390,2400 --screenshot="$VIEWS/report-phone.png" "file://$HTML")
for png in report.png report-phone.png; do
	if [[ -s $VIEWS/$png ]] && [[ $(head -c 8 "$VIEWS/$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; then
		ok "screenshot $VIEWS/$png"
	else
		not_ok "no screenshot $VIEWS/$png"
		tail -5 "$tmp/${png%.png}.err" | sed 's/^/# /'
	fi
done
finish
