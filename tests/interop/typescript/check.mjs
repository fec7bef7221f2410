#!/usr/bin/env node
// Interop check: ccmulti against the official MCP TypeScript SDK
// (@modelcontextprotocol/sdk, StreamableHTTPClientTransport, initialize handshake).
//
// Usage: node check.mjs BASE_URL        e.g. http://127.0.0.1:7477
// Exits 0 when everything passed, 1 with a message naming the failed step otherwise.

import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const IMPLEMENTER_TOOLS = [
  "check_agent_status",
  "claim_file_lock",
  "release_file_lock",
  "setup_multi_agent_coordination",
  "sync_progress",
];
const TIMEOUT_MS = 30_000;

class CheckFailed extends Error {}

function check(cond, what, detail) {
  if (!cond) {
    throw new CheckFailed(detail === undefined ? what : `${what}\n    got: ${JSON.stringify(detail)}`);
  }
  console.log(`  ok: ${what}`);
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
}

async function connect(url, name) {
  const client = new Client({ name, version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport, { timeout: TIMEOUT_MS });
  return { client, transport };
}

async function disconnect({ client, transport }) {
  try {
    await transport.terminateSession();
  } finally {
    await client.close();
  }
}

// Calls a tool; returns [isError, structuredContent] after checking the text block mirrors it.
async function call(client, name, args) {
  const result = await client.callTool({ name, arguments: args }, undefined, { timeout: TIMEOUT_MS });
  const sc = result.structuredContent;
  if (typeof sc !== "object" || sc === null || Array.isArray(sc)) {
    throw new CheckFailed(`${name}: no structuredContent object in result: ${JSON.stringify(result)}`);
  }
  const keys = Object.keys(sc);
  if (keys[0] !== "success" || typeof sc.success !== "boolean") {
    throw new CheckFailed(`${name}: structuredContent must start with a boolean 'success': ${JSON.stringify(sc)}`);
  }
  const text = (result.content ?? []).find((c) => c.type === "text");
  if (!text) throw new CheckFailed(`${name}: no text content block: ${JSON.stringify(result)}`);
  let mirrored;
  try {
    mirrored = JSON.parse(text.text);
  } catch (e) {
    throw new CheckFailed(`${name}: text block is not JSON (${e.message}): ${text.text}`);
  }
  if (!deepEqual(mirrored, sc)) {
    throw new CheckFailed(`${name}: text block differs from structuredContent:\n  text=${text.text}\n  sc=${JSON.stringify(sc)}`);
  }
  return [result.isError === true, sc];
}

async function scenario(base) {
  const session = `ts${randomBytes(4).toString("hex")}`;
  const [agentA, agentB] = ["impl1", "impl2"];
  const urlA = `${base}/mcp/v2/claude/interop__session__${session}__${agentA}`;
  const urlB = `${base}/mcp/v2/claude/interop__session__${session}__${agentB}`;
  const path = "src/a.rs";
  console.log(`[typescript] session ${session}`);

  const a = await connect(urlA, "claude-code");
  const b = await connect(urlB, "claude-code");
  try {
    console.log(`  server: ${JSON.stringify(a.client.getServerVersion())}`);
    for (const [who, c] of [[agentA, a.client], [agentB, b.client]]) {
      const names = (await c.listTools()).tools.map((t) => t.name).sort();
      check(deepEqual(names, IMPLEMENTER_TOOLS), `${who} lists exactly the implementer tools`, names);
    }

    let [err, sc] = await call(a.client, "claim_file_lock", { file_paths: [path], operation: "write", duration_minutes: 5 });
    check(!err && sc.success === true, `${agentA} claims ${path}`, sc);
    const locks = sc.locks ?? [];
    const token = locks[0]?.fencing_token;
    check(
      locks.length === 1 && locks[0].path === path && Number.isInteger(token) && token > 0,
      "the grant carries the path and a positive integer fencing_token",
      sc,
    );

    [err, sc] = await call(b.client, "claim_file_lock", { file_paths: [path], operation: "write", duration_minutes: 5 });
    check(err && sc.success === false, `${agentB}'s claim on ${path} is refused with isError`, { err, sc });
    const holders = (sc.conflicts ?? []).map((c) => c.holder);
    check(deepEqual(holders, [agentA]), `the conflict names ${agentA} as holder`, sc);

    [err, sc] = await call(a.client, "sync_progress", {
      task_id: "T1",
      status: "in_progress",
      progress_percentage: 40,
      message: "editing a.rs",
      affected_files: [path],
    });
    check(!err && sc.success === true, "sync_progress succeeds", sc);

    [err, sc] = await call(b.client, "check_agent_status", { include_inactive: true });
    check(!err && sc.success === true, "check_agent_status succeeds", sc);
    const agents = new Set((sc.agents ?? []).map((ag) => ag.agent_id));
    check(agents.has(agentA) && agents.has(agentB), "check_agent_status lists both agents", sc.agents);
    const lockRows = sc.locks ?? [];
    check(
      lockRows.some((l) => l.path === path && l.agent_id === agentA && l.fencing_token === token),
      `check_agent_status shows ${agentA}'s lock on ${path}`,
      lockRows,
    );
    const tasks = sc.tasks ?? [];
    check(
      tasks.some((t) => t.agent_id === agentA && t.task_id === "T1" && t.status === "in_progress"),
      "check_agent_status shows the synced task",
      tasks,
    );

    [err, sc] = await call(a.client, "release_file_lock", { file_paths: [path] });
    check(!err && sc.success === true && deepEqual(sc.released, [path]), `${agentA} releases ${path}`, sc);

    [err, sc] = await call(b.client, "claim_file_lock", { file_paths: [path], operation: "write", duration_minutes: 5 });
    check(!err && sc.success === true, `${agentB} now claims ${path}`, sc);
    const newToken = sc.locks?.[0]?.fencing_token;
    check(Number.isInteger(newToken) && newToken > token, "the new fencing_token is larger", [token, newToken]);

    [err, sc] = await call(b.client, "release_file_lock", { all: true });
    check(!err && sc.success === true, `${agentB} releases all`, sc);
  } finally {
    await disconnect(a);
    await disconnect(b);
  }
}

async function otherClient(base) {
  console.log("[typescript] non-Claude client");
  const c = await connect(`${base}/mcp/v2/cursor/u`, "cursor");
  try {
    const names = (await c.client.listTools()).tools.map((t) => t.name);
    check(names.length === 0, "a cursor client at /mcp/v2/cursor/u lists zero tools", names);
  } finally {
    await disconnect(c);
  }
}

async function main() {
  if (process.argv.length !== 3) {
    console.error("usage: node check.mjs BASE_URL   (e.g. http://127.0.0.1:7477)");
    process.exit(2);
  }
  const base = process.argv[2].replace(/\/+$/, "");
  const watchdog = setTimeout(() => {
    console.error("FAIL [typescript]: timed out after 120s");
    process.exit(1);
  }, 120_000);
  try {
    await scenario(base);
    await otherClient(base);
  } catch (e) {
    if (!(e instanceof CheckFailed)) console.error(e);
    console.error(`FAIL [typescript]: ${e instanceof CheckFailed ? e.message : `${e.name}: ${e.message}`}`);
    process.exit(1);
  }
  clearTimeout(watchdog);
  console.log("PASS [typescript]");
  process.exit(0);
}

main();
