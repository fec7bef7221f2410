#!/usr/bin/env bash
# Interop checks: ccmulti against real MCP clients.
#
#   python      official MCP Python SDK (streamable HTTP; initialize and server/discover eras)
#   typescript  official MCP TypeScript SDK (StreamableHTTPClientTransport)
#   claude-code the real Claude Code CLI (`claude mcp add` + `claude mcp list`)
#   claude-hooks the real Claude Code CLI accepts the hooks `ccmulti connect --write` merges
#               into .claude/settings.json (`claude mcp list`, `claude doctor`)
#   claude-token the real Claude Code CLI reaches a coordinator started with --token through
#               the `claude mcp add ... --header` line `ccmulti connect` prints
#
# This script installs nothing. Beforehand (CI does this), from the repository root:
#   cargo build --release
#   pip install -r tests/interop/python/requirements.txt
#   (cd tests/interop/typescript && npm ci)
#   (cd tests/interop/claude && npm ci)
# Override the interpreters with PYTHON=... NODE=... and the binary with CCMULTI=...
#
# CCMULTI_INTEROP_DB=postgres://... runs the main server, and the one claude-token
# starts, on that database instead of temporary SQLite files (tests/it/interop.rs
# does both).
# Starts `target/release/ccmulti serve` on a free loopback port with a temp db and
# root, waits for /health, runs the five checks (claude-token starts its own server), stops the server, and exits
# non-zero if any check failed (the server log is printed then).
set -uo pipefail
# A developer's own coordinator settings must not leak into the servers started here.
unset CCMULTI_TOKEN CCMULTI_ALLOW_HOSTS CCMULTI_ALLOW_ORIGINS CCMULTI_ADMIT_CLIENTS

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
node=${NODE:-node}
ccmulti=${CCMULTI:-$repo/target/release/ccmulti}

if [[ ! -x "$ccmulti" ]]; then
    echo "run.sh: $ccmulti not found; run cargo build --release first" >&2
    exit 1
fi

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
mkdir -p "$work/root"
NO_COLOR=1 RUST_LOG=${RUST_LOG:-info} "$ccmulti" serve --addr "127.0.0.1:$port" \
    --db "${CCMULTI_INTEROP_DB:-$work/coordinator.db}" --root "$work/root" >"$work/server.log" 2>&1 &
server_pid=$!

up=0
for _ in $(seq 1 100); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        break
    fi
    if curl -fsS --max-time 2 "$base/health" >/dev/null 2>&1; then
        up=1
        break
    fi
    sleep 0.1
done
if [[ $up -ne 1 ]]; then
    echo "run.sh: ccmulti did not answer $base/health; its log:" >&2
    cat "$work/server.log" >&2
    exit 1
fi
echo "run.sh: ccmulti serving at $base (pid $server_pid)"

# npm's postinstall copies the platform's native binary over bin/claude.exe; should
# install scripts be disabled, run the native binary from its platform package instead.
claude_bin=$here/claude/node_modules/.bin/claude
if ! "$claude_bin" --version </dev/null >/dev/null 2>&1; then
    for native in "$here"/claude/node_modules/@anthropic-ai/claude-code-*/claude; do
        if [[ -x "$native" ]] && "$native" --version </dev/null >/dev/null 2>&1; then
            claude_bin=$native
            break
        fi
    done
fi
results=()
failed=0
run_check() {
    local name=$1
    shift
    echo
    echo "=== $name ==="
    if "$@"; then
        results+=("PASS $name")
    else
        results+=("FAIL $name")
        failed=$((failed + 1))
    fi
}

run_check python timeout 300 "$python" "$here/python/check.py" "$base"
run_check typescript timeout 300 "$node" "$here/typescript/check.mjs" "$base"
run_check claude-code timeout 300 "$here/claude_code.sh" "$base" "$claude_bin"
run_check claude-hooks timeout 300 "$here/claude_hooks.sh" "$base" "$claude_bin" "$ccmulti"
run_check claude-token timeout 300 "$here/claude_token.sh" "$claude_bin" "$ccmulti"

if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run.sh: ccmulti exited during the checks" >&2
    failed=$((failed + 1))
    results+=("FAIL server stayed up")
fi

echo
echo "=== interop summary ==="
printf '%s\n' "${results[@]}"
if [[ $failed -ne 0 ]]; then
    echo
    echo "=== ccmulti server log ==="
    cat "$work/server.log"
    echo "interop: $((${#results[@]} - failed)) passed, $failed failed"
    exit 1
fi
echo "interop: ${#results[@]} passed, 0 failed"
