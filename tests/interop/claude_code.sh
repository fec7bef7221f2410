#!/usr/bin/env bash
# Interop check: the real Claude Code CLI connects to ccmulti.
#
# Usage: tests/interop/claude_code.sh BASE_URL CLAUDE_BIN
#   BASE_URL    e.g. http://127.0.0.1:7477
#   CLAUDE_BIN  the `claude` binary, e.g. tests/interop/claude/node_modules/.bin/claude
#               (installed by `npm ci` in tests/interop/claude/; this script installs nothing)
#
# With HOME set to a fresh temp dir it runs
#   claude mcp add --transport http planner BASE/mcp/v2/claude/interop__session__S__planner
#   claude mcp add --transport http impl    BASE/mcp/v2/claude/interop__session__S__impl1
#   claude mcp list
# and asserts both servers are reported "✔ Connected". `claude mcp list` connects to
# each server (discover or initialize, then tools/list); it needs no account or login.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 BASE_URL CLAUDE_BIN" >&2
    exit 2
fi
base=${1%/}
claude=$2
if [[ ! -x "$claude" ]]; then
    echo "FAIL [claude-code]: $claude is not an executable (run npm ci in tests/interop/claude)" >&2
    exit 1
fi
claude=$(cd "$(dirname "$claude")" && pwd)/$(basename "$claude")

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export HOME=$home
unset CLAUDE_CONFIG_DIR ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN XDG_CONFIG_HOME
# Nothing but the MCP server is to be contacted.
export DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
cd "$home" # `mcp add` writes to the local (per-directory) scope

session="cc$(date +%s)$$"
planner_url="$base/mcp/v2/claude/interop__session__${session}__planner"
impl_url="$base/mcp/v2/claude/interop__session__${session}__impl1"

echo "[claude-code] $("$claude" --version </dev/null)"
timeout 60 "$claude" mcp add --transport http planner "$planner_url" </dev/null
timeout 60 "$claude" mcp add --transport http impl "$impl_url" </dev/null

set +e
out=$(timeout 120 "$claude" mcp list </dev/null 2>&1)
rc=$?
set -e
echo "$out"

failed=0
for name in planner impl; do
    line=$(grep -E "^$name: " <<<"$out" || true)
    if [[ "$line" == *"✔ Connected"* ]]; then
        echo "  ok: $name reports Connected"
    else
        echo "FAIL [claude-code]: '$name' is not reported Connected (line: ${line:-<missing>}; claude mcp list exited $rc)" >&2
        failed=1
    fi
done

# Terminals sharing one checkout share its MCP config (`claude mcp add` refuses a
# second "ccmulti"), so they use one .mcp.json whose URL ends in ${CCMULTI_AGENT}.
# The user-level setting stands in for approving the project's servers once in `claude`.
proj="$home/shared-checkout"
mkdir -p "$proj" "$HOME/.claude"
printf '{"enableAllProjectMcpServers": true}\n' >"$HOME/.claude/settings.json"
printf '{"mcpServers":{"ccmulti":{"type":"http","url":"%s/mcp/v2/claude/${CCMULTI_AGENT}"}}}\n' "$base" >"$proj/.mcp.json"
for agent in impl2 impl3; do
    set +e
    out=$(cd "$proj" && CCMULTI_AGENT="interop__session__${session}__${agent}" timeout 120 "$claude" mcp list </dev/null 2>&1)
    set -e
    line=$(grep -E "^ccmulti: " <<<"$out" || true)
    if [[ "$line" == *"✔ Connected"* ]]; then
        echo "  ok: shared .mcp.json as $agent reports Connected"
    else
        echo "FAIL [claude-code]: shared .mcp.json as $agent (line: ${line:-<missing>})" >&2
        failed=1
    fi
done
status=$(curl -s -X POST "$planner_url" -H 'x-client-name: claude code' -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"check_agent_status","arguments":{"news":false}}}')
for agent in impl2 impl3; do
    if grep -q "\"agent_id\":\"$agent\"" <<<"$status"; then
        echo "  ok: the coordinator knows $agent from the expanded URL"
    else
        echo "FAIL [claude-code]: $agent did not reach the coordinator: $status" >&2
        failed=1
    fi
done

if [[ $failed -ne 0 ]]; then
    exit 1
fi
echo "PASS [claude-code]"
