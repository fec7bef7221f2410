#!/usr/bin/env python3
"""Renders a screenshot of `ccmulti up` in use with several agents to assets/dashboard.png.

Drives the real binary in tmux, makes real MCP calls over HTTP, captures the
pane with its colours and paints it with Pillow (pip install pillow).
Usage: python3 assets/screenshot.py [path/to/ccmulti]
"""
import json, os, re, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request

from PIL import Image, ImageDraw, ImageFont

here = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "target", "debug", "ccmulti")
cols, rows = 140, 40
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
work = tempfile.mkdtemp()
os.makedirs(f"{work}/repo")
sock = f"ccmulti-shot-{os.getpid()}"
cmd = f"{binary} up --addr 127.0.0.1:{port} --db {work}/c.db --root {work}/repo"
subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", str(cols), "-y", str(rows), cmd],
               check=True, env={**os.environ, "TERM": "xterm-256color"})
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health"); break
        except OSError:
            time.sleep(0.1)

    def call(agent, tool, args):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": tool, "arguments": args}}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/mcp/v2/claude/alice__session__feature-x__{agent}",
                                     data=body, headers={"content-type": "application/json", "x-client-name": "claude code"})
        return json.load(urllib.request.urlopen(req))

    # An hour of history, condensed: files claimed, renewed and handed back.
    for agent, path in [("impl_b", "src/http/mod.rs"), ("impl_a", "src/store/time.rs"), ("impl_c", "README.md"),
                        ("impl_b", "src/http/guard.rs"), ("impl_a", "src/store/events.rs"), ("impl_c", "docs/design.md")]:
        call(agent, "claim_file_lock", {"file_paths": [path]})
        call(agent, "claim_file_lock", {"file_paths": [path]})
        call(agent, "release_file_lock", {"file_paths": [path]})
    call("planner", "sync_progress", {"task_id": "plan", "status": "completed", "message": "3 tasks handed out"})
    call("impl_a", "claim_file_lock", {"file_paths": ["src/store/locks.rs", "src/store/mod.rs"], "duration_minutes": 20})
    call("impl_a", "sync_progress", {"task_id": "store-locks", "status": "in_progress", "progress_percentage": 45, "message": "writing the claim transaction"})
    call("impl_b", "claim_file_lock", {"file_paths": ["src/http/intake.rs"], "duration_minutes": 1})
    call("impl_b", "sync_progress", {"task_id": "http-intake", "status": "started", "progress_percentage": 0, "message": "reading rmcp"})
    call("impl_c", "claim_file_lock", {"file_paths": ["Cargo.toml"], "operation": "read", "duration_minutes": 10})
    call("impl_b", "claim_file_lock", {"file_paths": ["Cargo.toml"], "operation": "read", "duration_minutes": 10})
    call("impl_c", "claim_file_lock", {"file_paths": ["src/store/locks.rs"]})
    call("impl_c", "sync_progress", {"task_id": "docs", "status": "completed", "message": "README updated"})
    call("impl_c", "sync_progress", {"task_id": "store-tests", "status": "paused", "progress_percentage": 10, "message": "needs src/store/locks.rs"})
    # impl_c waits for impl_a's lock while the picture is taken: the dashboard shows the waiter.
    def wait_for_lock():
        try:
            call("impl_c", "claim_file_lock", {"file_paths": ["src/store/locks.rs"], "wait_seconds": 20})
        except OSError:
            pass  # the coordinator is stopped once the picture is taken
    threading.Thread(target=wait_for_lock, daemon=True).start()
    # Where each agent works, as `ccmulti team` records it when it starts them
    # (Store::set_agent_workspace); written here directly, as that command would.
    import sqlite3
    db = sqlite3.connect(f"{work}/c.db")
    for agent, branch in [("planner", "main"), ("impl_a", "feat/store-locks"), ("impl_b", "feat/http-intake"), ("impl_c", None)]:
        tree = f"{work}/repo" if agent == "planner" else f"{work}/repo/.worktrees/{agent}"
        db.execute("UPDATE claude_code_agents SET worktree = ?, branch = ? WHERE id = ?", (tree, branch, agent))
    db.commit(); db.close()
    time.sleep(2.5)
    ansi = subprocess.run(["tmux", "-L", sock, "capture-pane", "-e", "-p"], capture_output=True, text=True, check=True).stdout
finally:
    subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)

base16 = [(30, 30, 30), (205, 49, 49), (13, 188, 121), (229, 229, 16), (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
          (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67), (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255)]

def color256(n):
    if n < 16: return base16[n]
    if n < 232:
        n -= 16; steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10; return (v, v, v)

font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 15)
bold = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf", 15)
cw, ch = 9, 19
default_fg, default_bg = (220, 220, 220), (24, 24, 28)
img = Image.new("RGB", (cols * cw + 20, rows * ch + 20), default_bg)
draw = ImageDraw.Draw(img)
for y, line in enumerate(ansi.split("\n")[:rows]):
    fg, bg, is_bold, rev, x = default_fg, default_bg, False, False, 0
    for token in re.split(r"(\x1b\[[0-9;]*m)", line):
        if token.startswith("\x1b["):
            codes = [int(c) if c else 0 for c in token[2:-1].split(";")] or [0]
            i = 0
            while i < len(codes):
                c = codes[i]
                if c == 0: fg, bg, is_bold, rev = default_fg, default_bg, False, False
                elif c == 1: is_bold = True
                elif c == 7: rev = True
                elif c in (22,): is_bold = False
                elif c == 27: rev = False
                elif 30 <= c <= 37: fg = base16[c - 30]
                elif 90 <= c <= 97: fg = base16[c - 90 + 8]
                elif 40 <= c <= 47: bg = base16[c - 40]
                elif 100 <= c <= 107: bg = base16[c - 100 + 8]
                elif c == 39: fg = default_fg
                elif c == 49: bg = default_bg
                elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                    if c == 38: fg = color256(codes[i + 2])
                    else: bg = color256(codes[i + 2])
                    i += 2
                elif c in (38, 48) and i + 4 < len(codes) and codes[i + 1] == 2:
                    rgb = tuple(codes[i + 2:i + 5])
                    if c == 38: fg = rgb
                    else: bg = rgb
                    i += 4
                i += 1
            continue
        for chr_ in token:
            f, b = (bg, fg) if rev else (fg, bg)
            px, py = 10 + x * cw, 10 + y * ch
            draw.rectangle([px, py, px + cw, py + ch], fill=b)
            draw.text((px, py), chr_, fill=f, font=bold if is_bold else font)
            x += 1
out = os.path.join(here, "dashboard.png")
img.save(out)
print(out)
