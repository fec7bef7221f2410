#!/usr/bin/env bash
# Interop check: the real Claude Code CLI reaches a coordinator that requires a
# token, through exactly the line `ccmulti connect` prints.
#
# Usage: tests/interop/claude_token.sh CLAUDE_BIN CCMULTI_BIN
#
# Starts its own `ccmulti serve --token T` on a free loopback port (on a temporary
# SQLite file, or on CCMULTI_INTEROP_DB when that is set), then with
# HOME a fresh temp dir:
#   CCMULTI_TOKEN=T ccmulti connect ...   -> the `claude mcp add ... --header 'Authorization: Bearer ${CCMULTI_TOKEN}'` line
#   (that line, run as printed)
#   CCMULTI_TOKEN=T claude mcp list       -> "✔ Connected"
#   claude mcp list without the token     -> not connected
# and checks that the token itself is in neither the printed lines nor Claude Code's config.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 CLAUDE_BIN CCMULTI_BIN" >&2
    exit 2
fi
claude=$1
ccmulti=$2
for bin in "$claude" "$ccmulti"; do
    if [[ ! -x "$bin" ]]; then
        echo "FAIL [claude-token]: $bin is not an executable" >&2
        exit 1
    fi
done
claude=$(cd "$(dirname "$claude")" && pwd)/$(basename "$claude")

home=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$home"
}
trap cleanup EXIT
export HOME=$home
unset CLAUDE_CONFIG_DIR ANTHROPIC_API_KEY ANTHROPIC_AUTH_TOKEN XDG_CONFIG_HOME CCMULTI_AGENT
unset CCMULTI_TOKEN CCMULTI_ALLOW_HOSTS CCMULTI_ALLOW_ORIGINS CCMULTI_ADMIT_CLIENTS
export DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1

token="interop-$(date +%s)-$$-0123456789abcdef"
port=$("${PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
addr="127.0.0.1:$port"
mkdir -p "$home/root"
# On the same PostgreSQL database as run.sh's server when it runs on one
# (CCMULTI_INTEROP_DB): two coordinators on one database is what it is for.
"$ccmulti" serve --addr "$addr" --token "$token" --db "${CCMULTI_INTEROP_DB:-$home/coordinator.db}" --root "$home/root" \
    >"$home/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    if curl -fsS --max-time 2 "http://$addr/health" >/dev/null 2>&1; then
        break
    fi
    sleep 0.1
done

cd "$home"
session="tok$(date +%s)$$"
printed=$(CCMULTI_TOKEN=$token "$ccmulti" connect --session "$session" --agent impl1 --user interop --addr "$addr")
line=$(grep -E "^claude mcp add " <<<"$printed")
echo "[claude-token] connect printed: $line"
failed=0
if [[ "$printed" == *"$token"* ]]; then
    echo "FAIL [claude-token]: ccmulti connect printed the token itself" >&2
    failed=1
fi
# Run the printed line as a person would paste it, with our claude binary.
eval "\"\$claude\" ${line#claude }" </dev/null
if grep -qF "$token" "$home/.claude.json"; then
    echo "FAIL [claude-token]: the token was written into ~/.claude.json" >&2
    failed=1
fi

set +e
with=$(CCMULTI_TOKEN=$token timeout 120 "$claude" mcp list </dev/null 2>&1)
without=$(timeout 120 "$claude" mcp list </dev/null 2>&1)
set -e
echo "--- claude mcp list with CCMULTI_TOKEN"
echo "$with"
echo "--- claude mcp list without it"
echo "$without"
if [[ "$(grep -E '^ccmulti: ' <<<"$with")" != *"✔ Connected"* ]]; then
    echo "FAIL [claude-token]: with CCMULTI_TOKEN set, ccmulti is not reported Connected" >&2
    failed=1
fi
if [[ "$(grep -E '^ccmulti: ' <<<"$without")" == *"✔ Connected"* ]]; then
    echo "FAIL [claude-token]: without CCMULTI_TOKEN, ccmulti was still reported Connected" >&2
    failed=1
fi
if [[ $failed -ne 0 ]]; then
    echo "--- ccmulti log"
    cat "$home/server.log"
    exit 1
fi
echo "PASS [claude-token]"
