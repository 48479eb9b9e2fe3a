# Shared by tests/e2e/test_promtool.sh and tests/e2e/test_html_chromium.sh, sourced after
# tests/lib.sh: the files they check are written by the unit test .output/tests/test_views.
# shellcheck shell=bash
VIEWS=$ROOT/.output/test-logs/views

# views_setup TOOL FILE CHECK: ends the test when TOOL is missing (not ok as root, where make
# deps installs it; skipped otherwise), makes $tmp, and runs the unit test to write FILE (here
# too, so that each test also works alone).
views_setup() {
	local tool=$1 file=$2 check=$3
	if ! command -v "$tool" >/dev/null 2>&1; then
		if [[ $(id -u) -eq 0 ]]; then
			not_ok "$tool is missing (make deps installs it)"
		else
			skip "$check" "$tool is missing and installing it needs root (make deps)"
		fi
		finish
	fi
	tmp=$(mktemp -d "/tmp/iogap-$tool.XXXXXX")
	on_exit rm -rf "$tmp"
	rm -f "$file"
	(cd "$ROOT" && CMOCKA_MESSAGE_OUTPUT=TAP .output/tests/test_views >"$tmp/unit.log" 2>&1)
	if [[ ! -s $file ]]; then
		not_ok "no $file: .output/tests/test_views did not write it (run make first)"
		sed 's/^/# /' "$tmp/unit.log" | tail -20
		finish
	fi
}
