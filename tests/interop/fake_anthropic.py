#!/usr/bin/env python3
"""A scripted stand-in for the Anthropic Messages API, for driving the real Claude Code.

Claude Code is pointed at it with ANTHROPIC_BASE_URL. The model is the one part of
an end-to-end run that cannot be real here, so this plays it from a script the test
writes: each step is either a tool call or a text answer.

    python3 fake_anthropic.py --script SCRIPT.json --log REQUESTS.jsonl --port-file PORT

SCRIPT.json maps a script name to its steps:

    {"impl_b": [{"tool_use": {"name": "Edit", "input": {...}}},
                {"text": "done"}]}

A step may also wait for another agent first, so a team's agents act in a set order
although they all start at once: {"after": {"script": "impl_a", "turns": 1}, "tool_use": ...}
is answered only once impl_a has sent a main-loop request holding 1 assistant turn
(that is, the result of impl_a's step 0 is back). It waits at most "wait_seconds" (60).

A step with "after_file": PATH is answered only once PATH exists (at most
"wait_seconds", 60): the test itself decides when, e.g. once the coordinator shows
another agent waiting for a lock this agent is about to release.

Each agent picks its script by the first path segment of its base URL:
ANTHROPIC_BASE_URL=http://127.0.0.1:PORT/impl_b makes Claude Code post to
/impl_b/v1/messages, so one server serves a whole team. (A bare /v1/messages uses the
script named "default".)

Which step answers a request is derived from the request itself, not from a counter:
step N answers the main-loop request whose conversation already holds N assistant
turns. So a retried request gets the same answer again, and the side requests Claude
Code makes (title generation, quota probes, summaries: they carry no `tools`) never
consume a step; they get a short text. Once the script is exhausted every main-loop
request is answered "Done." so the agent ends its turn.

A step may react to what the agent was last told instead of being fixed, as a model
would: {"react": [{"when": REGEX, "tool_use": ...}, ...], "otherwise": STEP} takes the
first case whose REGEX matches the text of the last tool result (and whatever Claude
Code sent beside it, a hook's context), with "{1}", "{2}"... in the tool input's strings
replaced by the match's groups; "otherwise" (a tool_use or a text) when none matches.
So a script can run the command a denial names, then retry the edit.

Every request (method, path, headers it matters to know, body, and which step or side
answer it got) is appended to REQUESTS.jsonl, so the test can read the tool_result
Claude Code sent back (a hook's deny reason, an MCP tool's answer).

With --replay TASKS.json instead of --script, each agent is played by the reacting
policy of replay_policy.py (beside this file): it replays one real commit through
Claude Code's tools and reacts to what the tools answer (the replay benchmark).
"""

import argparse
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
# The most assistant turns seen in one main-loop request, per script: how far each agent is.
PROGRESS = {}
PROGRESSED = threading.Condition()


def note_progress(script, turns):
    with PROGRESSED:
        if turns > PROGRESS.get(script, -1):
            PROGRESS[script] = turns
            PROGRESSED.notify_all()


def wait_for(after):
    """Blocks until script after["script"] has reached after["turns"]; False on timeout."""
    deadline = time.time() + float(after.get("wait_seconds", 60))
    with PROGRESSED:
        while PROGRESS.get(after["script"], -1) < int(after.get("turns", 1)):
            left = deadline - time.time()
            if left <= 0:
                return False
            PROGRESSED.wait(left)
    return True


def wait_for_file(path, seconds):
    deadline = time.time() + seconds
    while not os.path.exists(path):
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


def assistant_turns(messages):
    return sum(1 for m in messages if m.get("role") == "assistant")


def is_main_loop(body):
    """The agent loop's request carries the tool definitions; side calls do not."""
    tools = body.get("tools") or []
    return any(t.get("name") in ("Edit", "Write", "Bash", "Read") for t in tools)


def text_of(content):
    """The text of a message's content: a string, or its blocks' text (tool results included)."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, dict):
            if isinstance(block.get("text"), str):
                parts.append(block["text"])
            elif "content" in block:
                parts.append(text_of(block["content"]))
    return "\n".join(parts)


def substitute(value, match):
    """`value` with "{1}", "{2}"... in its strings replaced by the match's groups."""
    if isinstance(value, str):
        return re.sub(r"\{(\d+)\}", lambda m: match.group(int(m.group(1))) or "", value)
    if isinstance(value, list):
        return [substitute(v, match) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, match) for k, v in value.items()}
    return value


def react(step, messages):
    """A reacting step's choice, from what the last user turn told the agent; which case it took."""
    if "react" not in step:
        return step, None
    told = text_of(messages[-1].get("content")) if messages else ""
    for number, case in enumerate(step["react"]):
        match = re.search(case["when"], told)
        if match:
            chosen = {k: v for k, v in case.items() if k != "when"}
            return substitute(chosen, match), f"react case {number}"
    return step.get("otherwise", {"text": "Done."}), "react otherwise"


def content_for(step, index):
    if "tool_use" in step:
        call = step["tool_use"]
        block = {
            "type": "tool_use",
            "id": f"toolu_e2e_{index:02d}_{uuid.uuid4().hex[:12]}",
            "name": call["name"],
            "input": call.get("input", {}),
        }
        return [block], "tool_use"
    return [{"type": "text", "text": step.get("text", "Done.")}], "end_turn"


def sse(event, data):
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def stream_body(message):
    """The event sequence the real API streams for one message."""
    head = dict(message, content=[], stop_reason=None, stop_sequence=None)
    head["usage"] = {"input_tokens": message["usage"]["input_tokens"], "output_tokens": 1}
    out = [sse("message_start", {"type": "message_start", "message": head})]
    out.append(sse("ping", {"type": "ping"}))
    for i, block in enumerate(message["content"]):
        if block["type"] == "text":
            out.append(sse("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": {"type": "text", "text": ""}}))
            out.append(sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                                   "delta": {"type": "text_delta", "text": block["text"]}}))
        else:
            start = dict(block, input={})
            out.append(sse("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": start}))
            out.append(sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                                   "delta": {"type": "input_json_delta",
                                                             "partial_json": json.dumps(block["input"])}}))
        out.append(sse("content_block_stop", {"type": "content_block_stop", "index": i}))
    out.append(sse("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                     "usage": {"output_tokens": message["usage"]["output_tokens"]}}))
    out.append(sse("message_stop", {"type": "message_stop"}))
    return "".join(out).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-anthropic/1"

    def log_message(self, fmt, *args):  # the JSONL log is the record; keep stderr quiet
        pass

    def record(self, entry):
        with LOCK, open(self.server.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def reply(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("request-id", "req_e2e_" + uuid.uuid4().hex[:16])
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def hold(self, step):
        """Waits as the step says ("after", "after_file"); what went wrong, or None."""
        after = step.get("after")
        if after and not wait_for(after):
            return f"waited in vain for {after}"
        gate = step.get("after_file")
        if gate and not wait_for_file(gate, float(step.get("wait_seconds", 60))):
            return f"waited in vain for {gate}"
        return None

    def split_path(self):
        """/impl_b/v1/messages?beta=true -> ("impl_b", "/v1/messages")."""
        path = self.path.split("?", 1)[0]
        if path.startswith("/v1/") or path == "/v1":
            return "default", path
        parts = path.split("/", 2)
        if len(parts) == 3:
            return parts[1], "/" + parts[2]
        return "default", path

    def do_GET(self):
        script, path = self.split_path()
        self.record({"t": time.time(), "method": "GET", "script": script, "path": self.path})
        if path.startswith("/v1/models"):
            models = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                      for m in ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")]
            body = {"data": models, "has_more": False, "first_id": models[0]["id"], "last_id": models[-1]["id"]}
            return self.reply(200, json.dumps(body).encode())
        return self.reply(404, json.dumps({"type": "error", "error": {"type": "not_found_error",
                                                                     "message": "not served here"}}).encode())

    def do_HEAD(self):
        self.record({"t": time.time(), "method": "HEAD", "path": self.path})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        script, path = self.split_path()
        body = self.read_body()
        entry = {"t": time.time(), "method": "POST", "script": script, "path": self.path,
                 "user_agent": self.headers.get("User-Agent"), "body": body}
        if path.startswith("/v1/messages/count_tokens"):
            entry["answer"] = "count_tokens"
            self.record(entry)
            return self.reply(200, json.dumps({"input_tokens": 100}).encode())
        if not path.startswith("/v1/messages") or not isinstance(body, dict):
            entry["answer"] = "404"
            self.record(entry)
            return self.reply(404, json.dumps({"type": "error", "error": {"type": "not_found_error",
                                                                         "message": "not served here"}}).encode())
        messages = body.get("messages") or []
        if is_main_loop(body) and self.server.policy is not None:
            entry["answer"] = f"replay turn {assistant_turns(messages)}"
            self.record(entry)
            # Offered tools: those defined, and those Claude Code defers (named in the text).
            tools = [t.get("name", "") for t in body.get("tools") or []]
            tools += re.findall(r"mcp__[A-Za-z0-9_]+", json.dumps(messages[:2]))
            content, stop = self.server.policy.answer(script, messages, tools)
        elif is_main_loop(body):
            steps = self.server.scripts.get(script, [])
            index = assistant_turns(messages)
            note_progress(script, index)
            if index < len(steps):
                entry["answer"] = f"step {index}"
                # Logged on arrival, before any wait: the request carries the result of
                # the previous step, which the test may be waiting to read.
                self.record(entry)
                problem = self.hold(steps[index])
                if problem:
                    self.record({"t": time.time(), "method": "POST", "script": script,
                                 "path": self.path, "answer": f"step {index}: {problem}"})
                    return self.reply(500, json.dumps({"type": "error", "error": {
                        "type": "api_error", "message": f"the script {problem}"}}).encode())
                step, reacted = react(steps[index], messages)
                if reacted:
                    self.record({"t": time.time(), "method": "POST", "script": script,
                                 "path": self.path, "answer": f"step {index}: {reacted}"})
                content, stop = content_for(step, index)
            else:
                content, stop = [{"type": "text", "text": "Done."}], "end_turn"
                entry["answer"] = "after script"
                self.record(entry)
        else:
            content, stop = [{"type": "text", "text": "ok"}], "end_turn"
            entry["answer"] = "side"
            self.record(entry)
        message = {"id": "msg_e2e_" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant",
                   "model": body.get("model", "claude-sonnet-4-5"), "content": content,
                   "stop_reason": stop, "stop_sequence": None,
                   "usage": {"input_tokens": 100, "output_tokens": 20}}
        if body.get("stream"):
            return self.reply(200, stream_body(message), "text/event-stream")
        return self.reply(200, json.dumps(message).encode())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--script", help="JSON: {script name: [steps]}")
    how.add_argument("--replay", help="JSON: {events, agents: {name: task}} for replay_policy.py")
    parser.add_argument("--log", required=True, help="JSONL file every request is appended to")
    parser.add_argument("--port-file", required=True, help="where the chosen port is written")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    scripts, policy = {}, None
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            scripts = json.load(f)
        if isinstance(scripts, list):
            scripts = {"default": scripts}
    else:
        sys.dont_write_bytecode = True  # nothing generated beside the sources
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import replay_policy

        policy = replay_policy.ReplayPolicy(args.replay)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.scripts = scripts
    server.policy = policy
    server.log_path = args.log
    open(args.log, "a", encoding="utf-8").close()
    # Written after the socket is bound, so a reader of the file can connect at once.
    with open(args.port_file + ".partial", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".partial", args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
