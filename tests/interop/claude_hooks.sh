#!/usr/bin/env bash
# Interop check: Claude Code accepts the settings `ccmulti connect --write` writes.
#
# Usage: tests/interop/claude_hooks.sh BASE_URL CLAUDE_BIN CCMULTI_BIN
#
# With HOME a fresh temp dir and a fresh project directory it runs
#   claude mcp add --transport http ccmulti BASE/mcp/v2/claude/interop__session__S__impl1
#   ccmulti connect --session S --agent impl1 --addr HOST:PORT --root PROJECT --write
#   claude mcp list      (the server must be reported "✔ Connected")
#   claude doctor        (must list no "Invalid settings")
# and, so that the doctor check cannot pass vacuously, the same doctor run on a
# copy of the settings with a broken hook entry must list it as invalid.
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 BASE_URL CLAUDE_BIN CCMULTI_BIN" >&2
    exit 2
fi
base=${1%/}
claude=$2
ccmulti=$3
for bin in "$claude" "$ccmulti"; do
    if [[ ! -x "$bin" ]]; then
        echo "FAIL [claude-hooks]: $bin is not an executable" >&2
        exit 1
    fi
done
claude=$(cd "$(dirname "$claude")" && pwd)/$(basename "$claude")

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export HOME=$home
unset CLAUDE_CONFIG_DIR ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN XDG_CONFIG_HOME CCMULTI_AGENT
export DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1

project=$home/project
mkdir -p "$project"
cd "$project"
session="hooks$(date +%s)$$"
addr=${base#http://}

timeout 60 "$claude" mcp add --transport http ccmulti "$base/mcp/v2/claude/interop__session__${session}__impl1" </dev/null
"$ccmulti" connect --session "$session" --agent impl1 --user interop --addr "$addr" --root "$project" --write
echo "--- .claude/settings.json"
cat .claude/settings.json

failed=0
set +e
list=$(timeout 120 "$claude" mcp list </dev/null 2>&1)
list_rc=$?
doctor=$(timeout 120 "$claude" doctor </dev/null 2>&1)
doctor_rc=$?
set -e
echo "--- claude mcp list (exit $list_rc)"
echo "$list"
echo "--- claude doctor (exit $doctor_rc)"
echo "$doctor"

line=$(grep -E "^ccmulti: " <<<"$list" || true)
if [[ "$line" == *"✔ Connected"* ]]; then
    echo "  ok: ccmulti reports Connected beside the hooks"
else
    echo "FAIL [claude-hooks]: ccmulti is not reported Connected (line: ${line:-<missing>})" >&2
    failed=1
fi
if grep -qiE "invalid settings|settings error" <<<"$list"; then
    echo "FAIL [claude-hooks]: claude mcp list reports a settings problem" >&2
    failed=1
fi
if [[ $doctor_rc -ne 0 ]]; then
    echo "FAIL [claude-hooks]: claude doctor exited $doctor_rc" >&2
    failed=1
elif grep -qi "invalid settings" <<<"$doctor"; then
    echo "FAIL [claude-hooks]: claude doctor lists invalid settings" >&2
    failed=1
else
    echo "  ok: claude doctor lists no invalid settings"
fi

# The control: a broken entry beside ours must be reported, or the check above proves nothing.
broken=$home/broken
mkdir -p "$broken/.claude"
sed 's/"type": "command"/"type": "commandx"/' .claude/settings.json >"$broken/.claude/settings.json"
set +e
control=$(cd "$broken" && timeout 120 "$claude" doctor </dev/null 2>&1)
set -e
if grep -qi "invalid settings" <<<"$control" && grep -q "commandx" <<<"$control"; then
    echo "  ok: claude doctor does report a broken hook entry (control)"
else
    echo "FAIL [claude-hooks]: claude doctor did not report a deliberately broken hook entry, so it validates nothing here:" >&2
    echo "$control" >&2
    failed=1
fi

if [[ $failed -ne 0 ]]; then
    exit 1
fi
echo "PASS [claude-hooks]"
