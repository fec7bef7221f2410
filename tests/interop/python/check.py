#!/usr/bin/env python3
"""Interop check: ccmulti against the official MCP Python SDK (streamable HTTP).

Usage: python check.py BASE_URL        e.g. http://127.0.0.1:7477

Runs the implementer scenario twice, once per protocol era the SDK speaks:
  legacy  - `initialize` handshake, Mcp-Session-Id (2025-11-25)
  modern  - `server/discover`, stateless requests with clientInfo in _meta (2026-07-28)
Each era uses its own ccmulti session so their locks never meet. Then checks
that a non-Claude client (/mcp/v2/cursor/u, clientInfo "cursor") sees no tools.

Exits 0 when everything passed, 1 with a message naming the failed step otherwise.
"""

from __future__ import annotations

import json
import sys
import traceback
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import Implementation

IMPLEMENTER_TOOLS = {
    "claim_file_lock",
    "release_file_lock",
    "sync_progress",
    "check_agent_status",
    "setup_multi_agent_coordination",
}
CLAUDE = Implementation(name="claude-code", version="1.0.0")
CURSOR = Implementation(name="cursor", version="1.0.0")
TIMEOUT_S = 30


class CheckFailed(Exception):
    pass


def check(cond: bool, what: str, detail: Any = None) -> None:
    if not cond:
        extra = "" if detail is None else f"\n    got: {detail}"
        raise CheckFailed(f"{what}{extra}")
    print(f"  ok: {what}")


def dump(result: Any) -> str:
    try:
        return json.dumps(result.model_dump(by_alias=True, mode="json", exclude_none=True))
    except Exception:  # pragma: no cover - only for messages
        return repr(result)


@asynccontextmanager
async def connect(url: str, info: Implementation, era: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write, client_info=info, read_timeout_seconds=TIMEOUT_S) as session:
            if era == "legacy":
                await session.initialize()
            else:
                await session.discover()
            yield session


async def call(session: ClientSession, name: str, args: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Calls a tool; returns (is_error, structuredContent) after checking the text block mirrors it."""
    result = await session.call_tool(name, args)
    sc = result.structured_content
    if not isinstance(sc, dict):
        raise CheckFailed(f"{name}: no structuredContent object in result: {dump(result)}")
    if not sc or next(iter(sc)) != "success" or not isinstance(sc["success"], bool):
        raise CheckFailed(f"{name}: structuredContent must start with a boolean 'success': {sc}")
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    if not texts:
        raise CheckFailed(f"{name}: no text content block: {dump(result)}")
    try:
        mirrored = json.loads(texts[0])
    except ValueError as e:
        raise CheckFailed(f"{name}: text block is not JSON ({e}): {texts[0]!r}") from None
    if mirrored != sc:
        raise CheckFailed(f"{name}: text block differs from structuredContent:\n  text={mirrored}\n  sc={sc}")
    return bool(result.is_error), sc


async def scenario(base: str, era: str) -> None:
    session_id = f"py{era}{uuid.uuid4().hex[:8]}"
    agent_a, agent_b = "impl1", "impl2"
    url_a = f"{base}/mcp/v2/claude/interop__session__{session_id}__{agent_a}"
    url_b = f"{base}/mcp/v2/claude/interop__session__{session_id}__{agent_b}"
    path = "src/a.rs"
    print(f"[python/{era}] session {session_id}")

    async with connect(url_a, CLAUDE, era) as a, connect(url_b, CLAUDE, era) as b:
        print(f"  negotiated protocol version: {a.protocol_version}")
        for who, s in ((agent_a, a), (agent_b, b)):
            names = {t.name for t in (await s.list_tools()).tools}
            check(names == IMPLEMENTER_TOOLS, f"{who} lists exactly the implementer tools", sorted(names))

        err, sc = await call(a, "claim_file_lock", {"file_paths": [path], "operation": "write", "duration_minutes": 5})
        check(not err and sc["success"] is True, f"{agent_a} claims {path}", sc)
        locks = sc.get("locks") or []
        token = locks[0].get("fencing_token") if locks else None
        check(
            len(locks) == 1 and locks[0].get("path") == path and isinstance(token, int) and token > 0,
            "the grant carries the path and a positive integer fencing_token",
            sc,
        )

        err, sc = await call(b, "claim_file_lock", {"file_paths": [path], "operation": "write", "duration_minutes": 5})
        check(err and sc["success"] is False, f"{agent_b}'s claim on {path} is refused with isError", (err, sc))
        holders = [c.get("holder") for c in sc.get("conflicts") or []]
        check(holders == [agent_a], f"the conflict names {agent_a} as holder", sc)

        err, sc = await call(
            a,
            "sync_progress",
            {
                "task_id": "T1",
                "status": "in_progress",
                "progress_percentage": 40,
                "message": "editing a.rs",
                "affected_files": [path],
            },
        )
        check(not err and sc["success"] is True, "sync_progress succeeds", sc)

        err, sc = await call(b, "check_agent_status", {"include_inactive": True})
        check(not err and sc["success"] is True, "check_agent_status succeeds", sc)
        agents = {ag.get("agent_id") for ag in sc.get("agents") or []}
        check({agent_a, agent_b} <= agents, "check_agent_status lists both agents", sc.get("agents"))
        lock_rows = [(lk.get("path"), lk.get("agent_id"), lk.get("fencing_token")) for lk in sc.get("locks") or []]
        check((path, agent_a, token) in lock_rows, f"check_agent_status shows {agent_a}'s lock on {path}", lock_rows)
        tasks = [(t.get("agent_id"), t.get("task_id"), t.get("status")) for t in sc.get("tasks") or []]
        check((agent_a, "T1", "in_progress") in tasks, "check_agent_status shows the synced task", tasks)

        err, sc = await call(a, "release_file_lock", {"file_paths": [path]})
        check(not err and sc["success"] is True and sc.get("released") == [path], f"{agent_a} releases {path}", sc)

        err, sc = await call(b, "claim_file_lock", {"file_paths": [path], "operation": "write", "duration_minutes": 5})
        new_token = ((sc.get("locks") or [{}])[0]).get("fencing_token")
        check(not err and sc["success"] is True, f"{agent_b} now claims {path}", sc)
        check(isinstance(new_token, int) and new_token > token, "the new fencing_token is larger", (token, new_token))

        err, sc = await call(b, "release_file_lock", {"all": True})
        check(not err and sc["success"] is True, f"{agent_b} releases all", sc)


async def other_client(base: str, era: str) -> None:
    print(f"[python/{era}] non-Claude client")
    async with connect(f"{base}/mcp/v2/cursor/u", CURSOR, era) as c:
        names = [t.name for t in (await c.list_tools()).tools]
        check(names == [], "a cursor client at /mcp/v2/cursor/u lists zero tools", names)


async def main(base: str) -> None:
    for era in ("legacy", "modern"):
        with anyio.fail_after(TIMEOUT_S * 4):
            await scenario(base, era)
            await other_client(base, era)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check.py BASE_URL   (e.g. http://127.0.0.1:7477)")
    base_url = sys.argv[1].rstrip("/")
    try:
        anyio.run(main, base_url)
    except CheckFailed as e:
        print(f"FAIL [python]: {e}", file=sys.stderr)
        sys.exit(1)
    except BaseException as e:  # noqa: BLE001 - any SDK/transport error is a failure too
        traceback.print_exc()
        print(f"FAIL [python]: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print("PASS [python]")
