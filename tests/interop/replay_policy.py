"""A reacting stand-in model: each agent replays one real commit through Claude Code's tools.

Loaded by fake_anthropic.py with `--replay TASKS.json`. TASKS.json:

    {"events": "/abs/events.jsonl",
     "agents": {"implementer-1": {"workdir": "/abs/checkout", "diff": "/abs/01.diff",
                                  "message": "...", "author": "...", "commit": true,
                                  "seed": 7, "think": [0.1, 0.8], "patience": 20,
                                  "give_up_after": 240, "claim_wait": 60,
                                  "claim_lease": 5, "claim_idle_yield": 2}}}

Each agent (the script name of its base URL) applies its commit's hunks file by
file with Claude Code's own tools: Read the file, then an Edit computed from the
content the Read returned and the hunk's old and new lines (widened with the
file's neighbouring lines until the old text is unique), Write for a new file,
Bash `rm` for a deleted one. It reacts to what it is told, as a model would:

- an Edit that fails because the file changed, or was not read: Read it again;
- an edit denied by a hook naming a holder: when the denial says to work on
  something else meanwhile and files of its task are still to do in this
  pass, do those first and come back to this one; denied again then (or
  nothing else to do), wait in place, by claiming the
  file with `claim_file_lock(wait_seconds, lease_seconds, idle_yield_seconds)`
  (the hook's short lease, renewed by each edit and giving way once left
  idle, rather than the default 15 minutes) when the coordinator's tools are
  offered (Claude Code defers them: their names are in its first message),
  else by pausing a moment; then Read again and retry (after `give_up_after`
  seconds of the task the file's hunks are counted as lost);
- a waiting claim answered with a wait cycle: release the paths it names,
  then go on as after any refusal;
- a result (or a hook's added context, that of a command it was told to run
  included) that names a git command in backticks,
  e.g. `git merge --no-edit <commit>`: run it with Bash, then go on (a commit
  it is told to make is made with its own message; when git refuses a merge
  until its own changes are committed, it commits them and runs it again);
- "commit first": commit what it has, then retry;
- a hunk whose old text is not in the file (an earlier commit it builds on has
  not arrived): put aside and retried after the other files, re-reading the
  file every few seconds, until `patience` seconds pass in which no hunk went
  in and no file it waits on changed; then counted as lost.

At the end it commits with Bash when `commit` is set (worktrees), and releases
its locks when the coordinator's tools are offered. Think time before each call
is drawn from a generator seeded by (seed, agent), so seeds interleave
differently. The policy knows nothing of ccmulti but what tool results say.

Every step is appended to the events file (JSONL) for the benchmark to measure:
applied, lost, denied, waited, ran, commit, released, done. With each applied
edit goes the agent's HEAD at that moment (read with git, for measuring only).
"""

import json
import os
import random
import re
import subprocess
import threading
import time

READ_LINE = re.compile(r"^\s*(\d+)\t(.*)$")
COMMAND = re.compile(r"`(git [^`\n]+)`")
EVENTS_LOCK = threading.Lock()
# The lease the edit hook takes (its own default unless the run sets it); a claim
# made to wait for a refused edit holds the file as long.
EDIT_LEASE = int(os.environ.get("CCMULTI_HOOK_LEASE_SECONDS", "30"))


class Hunk:
    def __init__(self, old_start):
        self.old_start = old_start
        self.old = []  # lines, each with its newline unless the file ends without one
        self.new = []

    @property
    def old_text(self):
        return "".join(self.old)

    @property
    def new_text(self):
        return "".join(self.new)


class FileChange:
    def __init__(self, path):
        self.path = path
        self.kind = "modify"
        self.hunks = []

    def whole(self):
        """An added or deleted file is one hunk, even without an @@ line."""
        if not self.hunks:
            self.hunks.append(Hunk(0))
        return self


def parse_diff(text):
    """git's unified diff -> [FileChange]."""
    files = []
    current = None
    hunk = None
    last = None  # which side the previous line went to, for "\ No newline"
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            match = re.match(r"diff --git a/(\S+) b/(\S+)", line)
            current = FileChange(match.group(2))
            files.append(current)
            hunk = None
            continue
        if current is None:
            continue
        if hunk is None:
            if line.startswith("new file mode"):
                current.kind = "add"
            elif line.startswith("deleted file mode"):
                current.kind = "delete"
            elif line.startswith("@@"):
                pass
            else:
                continue
        if line.startswith("@@"):
            match = re.match(r"@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@", line)
            hunk = Hunk(int(match.group(1)))
            current.hunks.append(hunk)
            continue
        if hunk is None:
            continue
        if line.startswith("\\"):
            for side in last or ():
                side[-1] = side[-1][:-1]
            continue
        tag, body = line[:1], line[1:] + "\n"
        if tag == " ":
            hunk.old.append(body)
            hunk.new.append(body)
            last = (hunk.old, hunk.new)
        elif tag == "-":
            hunk.old.append(body)
            last = (hunk.old,)
        elif tag == "+":
            hunk.new.append(body)
            last = (hunk.new,)
    return files


def read_content(text):
    """The file's text from Claude Code's Read result (`N<TAB>line` per line)."""
    lines = []
    for raw in text.split("\n"):
        match = READ_LINE.match(raw)
        if match and int(match.group(1)) == len(lines) + 1:
            lines.append(match.group(2))
    return "\n".join(lines)


def line_of(content, index):
    return content.count("\n", 0, index) + 1


def plan_edit(content, hunk, shift):
    """(old_string, new_string) for this hunk against `content`, unique in it; None if absent."""
    old, new = hunk.old_text, hunk.new_text
    if not old:
        return None
    starts = []
    at = content.find(old)
    while at != -1:
        starts.append(at)
        at = content.find(old, at + 1)
    if not starts:
        return None
    expected = hunk.old_start + shift
    start = min(starts, key=lambda s: abs(line_of(content, s) - expected))
    end = start + len(old)
    before, after = "", ""
    while content.count(before + old + after) > 1:
        grown = False
        if start > 0:
            cut = content.rfind("\n", 0, start - 1) + 1
            before = content[cut:start] + before
            start = cut
            grown = True
        if end < len(content):
            stop = content.find("\n", end)
            stop = len(content) if stop == -1 else stop + 1
            after = after + content[end:stop]
            end = stop
            grown = True
        if not grown:
            break
    return before + old + after, before + new + after


class Agent:
    """One agent's task as a generator of tool calls; each yield gets the call's result."""

    def __init__(self, name, task, events):
        self.name = name
        self.task = task
        self.events = events
        self.rng = random.Random(f"{task.get('seed', 0)}/{name}")
        self.workdir = task["workdir"].rstrip("/")
        self.ccmulti = False
        self.meanwhile = False  # the last denial said to work on something else meanwhile
        self.ran = set()  # commands told and run without error
        self.failed = {}  # command -> how many times it failed
        self.started = time.time()
        with open(task["diff"], encoding="utf-8") as f:
            self.files = [c.whole() for c in parse_diff(f.read())]
        self.content = {}
        self.shift = {}

    # -- the record ---------------------------------------------------------
    def log(self, event, **fields):
        entry = {"t": time.time(), "agent": self.name, "event": event, **fields}
        with EVENTS_LOCK, open(self.events, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def head(self):
        r = subprocess.run(["git", "-C", self.workdir, "rev-parse", "HEAD"], capture_output=True, text=True)
        return r.stdout.strip() or None

    # -- tool calls ---------------------------------------------------------
    def abs(self, path):
        return f"{self.workdir}/{path}"

    def think(self):
        low, high = self.task.get("think", [0.1, 0.8])
        return self.rng.uniform(low, high)

    def call(self, name, tool_input):
        """Yields one tool call (after thinking); returns its result, running any command it names."""
        result = yield ("tool", name, tool_input, self.think())
        yield from self.obey(result)
        return result

    def obey(self, result):
        """Runs the git commands a result or a hook's context names: each until it has
        worked once (a failed one is tried again when told again, at most three times).
        A commit it is told to make is its own, with its own message, made each time it
        is asked; a command git refuses until its own changes are committed is run again
        after committing them."""
        told = COMMAND.findall(result["text"] + "\n" + result["beside"])
        for command in dict.fromkeys(told):
            if "git commit" in command:
                # Asked to commit: each time it is asked (the request is told once).
                yield from self.commit()
                continue
            if command in self.ran or self.failed.get(command, 0) >= 3:
                continue
            ran = yield from self.run_told(command)
            if ran["is_error"] and "commit your changes or stash them" in ran["text"]:
                yield from self.commit()
                ran = yield from self.run_told(command)
            if ran["is_error"]:
                self.failed[command] = self.failed.get(command, 0) + 1
            else:
                self.ran.add(command)
            # What came beside the command's own output (a hook's news) is read too.
            yield from self.obey({"text": "", "beside": ran["beside"]})

    def run_told(self, command):
        ran = yield ("tool", "Bash", {"command": command, "description": "Run what I was told to"}, self.think())
        self.log("ran", command=command, ok=not ran["is_error"], said=ran["text"][:500])
        return ran

    def read(self, change):
        result = yield from self.call("Read", {"file_path": self.abs(change.path)})
        if result["is_error"]:
            self.content.pop(change.path, None)
            return False
        self.content[change.path] = read_content(result["text"])
        return True

    # -- reactions ----------------------------------------------------------
    def denied(self, result):
        text = result["text"]
        denied = result["is_error"] and ("locked by" in text or "hook" in text.lower() and "denied" in text.lower())
        if denied:
            self.meanwhile = "work on something else" in text.lower()
        return denied

    def commit_first(self, result):
        return "commit first" in (result["text"] + result["beside"]).lower()

    def waiting_claim(self, path):
        """claim_file_lock's arguments for waiting for a refused edit: held as the hook
        holds it, giving way as it does once left idle."""
        args = {"file_paths": [path], "wait_seconds": self.task.get("claim_wait", 60),
                "lease_seconds": self.task.get("claim_lease", EDIT_LEASE)}
        if self.task.get("claim_idle_yield"):
            args["idle_yield_seconds"] = self.task["claim_idle_yield"]
        return args

    def wait_for_turn(self, change):
        """Denied: wait for the holder (a waiting claim when offered), then read again."""
        since = time.time()
        if self.ccmulti:
            # Waiting for its turn at the edit the hook refused: held as the hook holds it
            # (lease_seconds, renewed by each edit, and idle_yield_seconds), not for
            # claim_file_lock's default 15 minutes.
            claim = yield from self.call("mcp__ccmulti__claim_file_lock",
                                         self.waiting_claim(change.path))
            granted = not claim["is_error"] and '"success":true' in claim["text"].replace(" ", "")
            self.log("claim", path=change.path, granted=granted, seconds=time.time() - since)
            release = self.cycle_release(claim)
            if release:
                # Told that waiting would never end: release what it names, as asked.
                freed = yield from self.call("mcp__ccmulti__release_file_lock", {"file_paths": release})
                self.log("cycle released", paths=release, ok=not freed["is_error"])
        else:
            yield ("sleep", 2.0)
        self.log("waited", path=change.path, seconds=time.time() - since)

    def cycle_release(self, result):
        """The paths a claim answered with a wait cycle asks to release, if any."""
        try:
            answer = json.loads(result["text"])
        except (ValueError, TypeError):
            return []
        cycle = answer.get("wait_cycle") if isinstance(answer, dict) else None
        return list(cycle.get("release") or []) if isinstance(cycle, dict) else []

    # -- the task -----------------------------------------------------------
    def run(self, tools):
        self.ccmulti = any(t.startswith("mcp__ccmulti__") for t in tools)
        self.log("start", files=[c.path for c in self.files],
                 hunks=sum(max(1, len(c.hunks)) for c in self.files), ccmulti=self.ccmulti)
        work = [(change, list(change.hunks)) for change in self.files]
        patience_ends = None
        while work:
            still, progressed = [], False
            queue, put_off = list(work), set()
            while queue:
                change, hunks = queue.pop(0)
                before = self.content.get(change.path)
                # Told to work on something else meanwhile: once a pass, when there is something else.
                may_put_off = change.path not in put_off and bool(queue)
                left, later = yield from self.apply_waiting(change, hunks, may_put_off)
                # Progress: a hunk went in, or the file changed under it (someone is at work on it).
                progressed |= len(left) < len(hunks) or self.content.get(change.path) != before
                if later:
                    put_off.add(change.path)
                    self.log("put off", path=change.path)
                    queue.append((change, left))
                elif left:
                    still.append((change, left))
            work = still
            if not work or self.give_up():
                break
            if progressed or patience_ends is None:
                patience_ends = time.time() + float(self.task.get("patience", 20))
            if time.time() >= patience_ends:
                break
            yield ("sleep", 2.0)
        for change, hunks in work:
            for hunk in hunks:
                self.log("lost", path=change.path, hunk=change.hunks.index(hunk),
                         reason="the file stayed held by another agent" if self.give_up()
                         else "its old text never appeared")
        if self.task.get("commit"):
            yield from self.commit()
        if self.ccmulti:
            yield from self.release()
        self.log("done", seconds=time.time() - self.started)
        return "Done: " + self.task.get("message", "").split("\n")[0]

    def apply_waiting(self, change, hunks, may_put_off):
        """Applies what it can of one file's hunks: (the hunks left, whether to come back to
        it after the other files). Another agent holding it: put off when the denial says to
        work on something else meanwhile and `may_put_off`, else waited for in place."""
        while True:
            left, denied = yield from self.apply(change, hunks)
            if not denied or self.give_up():
                return left, False
            if may_put_off and self.meanwhile:
                return left, True
            yield from self.wait_for_turn(change)
            hunks = left

    def give_up(self):
        return time.time() - self.started > float(self.task.get("give_up_after", 240))

    def apply(self, change, hunks):
        """Applies what it can of `hunks` now: (the hunks left, whether an edit was denied).
        A hunk is left when its old text is not in the file (yet), or the file is held."""
        if change.kind == "add":
            outcome = yield from self.write_new(change)
            return ([] if outcome == "applied" else hunks), outcome == "denied"
        if change.kind == "delete":
            done = yield from self.delete(change)
            return ([] if done else hunks), False
        if not (yield from self.read(change)):
            return hunks, False
        left = []
        for i, hunk in enumerate(hunks):
            outcome = yield from self.edit(change, hunk)
            if outcome == "denied":
                return left + hunks[i:], True
            if outcome == "absent":
                left.append(hunk)
        return left, False

    def edit(self, change, hunk):
        """One hunk: 'applied', 'absent' (old text not in the file) or 'denied'."""
        index = change.hunks.index(hunk)
        rereads = 0
        while True:
            content = self.content.get(change.path)
            planned = plan_edit(content, hunk, self.shift.get(change.path, 0)) if content is not None else None
            if planned is None:
                return "absent"
            old, new = planned
            head = self.head() if self.task.get("commit") else None
            issued = time.time()
            result = yield from self.call("Edit", {"file_path": self.abs(change.path),
                                                   "old_string": old, "new_string": new})
            if not result["is_error"]:
                self.content[change.path] = content.replace(old, new, 1)
                self.shift[change.path] = self.shift.get(change.path, 0) + len(hunk.new) - len(hunk.old)
                self.log("applied", path=change.path, hunk=index, head=head, issued=issued,
                         new_text=hunk.new_text)
                return "applied"
            why = yield from self.refusal(change, result)
            if why == "denied":
                return "denied"
            if why is None:
                rereads += 1
                if rereads > 3:
                    return "absent"
            if not (yield from self.read(change)):
                return "absent"

    def refusal(self, change, result):
        """Why a write failed: 'denied' (another agent holds the file), 'committed' (told to
        commit first, and did), or None (something else: read the file again)."""
        if self.denied(result):
            self.log("denied", path=change.path, said=result["text"][:500])
            return "denied"
        if self.commit_first(result):
            yield from self.commit()
            return "committed"
        return None

    def write_new(self, change):
        """A new file: 'applied', 'denied', or 'failed'."""
        text = change.hunks[0].new_text
        for _ in range(3):
            result = yield from self.call("Write", {"file_path": self.abs(change.path), "content": text})
            if not result["is_error"]:
                self.log("applied", path=change.path, hunk=0, head=None, issued=time.time(), new_text=text)
                return "applied"
            why = yield from self.refusal(change, result)
            if why == "denied":
                return "denied"
            if why is None:  # it exists and was not read yet
                yield from self.call("Read", {"file_path": self.abs(change.path)})
        return "failed"

    def delete(self, change):
        result = yield from self.call("Bash", {"command": f"rm -f -- '{change.path}'",
                                               "description": f"Delete {change.path}"})
        if not result["is_error"]:
            self.log("applied", path=change.path, hunk=0, head=None, new_text="")
        return not result["is_error"]

    def commit(self):
        message = self.task.get("message") or "replayed change"
        author = (self.task.get("author") or "replay").replace("'", "")
        delimiter = "REPLAY_COMMIT_MESSAGE_END"
        command = (f"git add -A && git commit -q --author='{author} <replay@localhost>' -F - <<'{delimiter}'\n"
                   f"{message}\n{delimiter}")
        for _ in range(30):
            result = yield from self.call("Bash", {"command": command, "description": "Commit my change"})
            said = result["text"] + result["beside"]
            if not result["is_error"] or "nothing to commit" in said or "nothing added" in said:
                self.log("commit", sha=self.head(), ok=not result["is_error"], said=said[:300])
                return
            self.log("commit refused", said=said[:500])
            if self.give_up():
                return
            yield ("sleep", 2.0)

    def release(self):
        for _ in range(10):
            result = yield from self.call("mcp__ccmulti__release_file_lock", {"all": True})
            if self.commit_first(result):
                yield from self.commit()
                continue
            self.log("released", ok=not result["is_error"], said=result["text"][:300])
            return


def tool_results(messages):
    """The result of the agent's last call: its text, whether an error, and what came beside it."""
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
    text, is_error, beside = "", False, []
    for message in messages[last + 1:]:
        content = message.get("content")
        if isinstance(content, str):
            beside.append(content)
            continue
        for block in content or []:
            if block.get("type") == "tool_result":
                text = flatten(block.get("content"))
                is_error = bool(block.get("is_error"))
            elif block.get("type") == "text":
                beside.append(block.get("text", ""))
    return {"text": text, "is_error": is_error, "beside": "\n".join(beside)}


def flatten(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(flatten(b.get("text", b.get("content"))) for b in content if isinstance(b, dict))
    return ""


class ReplayPolicy:
    """Plays every agent of TASKS.json; answers are cached per turn, so a retried request gets the same one."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        self.spec = spec
        self.lock = threading.Lock()
        self.agents = {}

    def answer(self, script, messages, tools):
        """(content blocks, stop reason) for this main-loop request."""
        with self.lock:
            state = self.agents.get(script)
            if state is None:
                task = self.spec["agents"].get(script)
                if task is None:
                    return [{"type": "text", "text": f"No task for {script}."}], "end_turn"
                agent = Agent(script, task, self.spec["events"])
                state = {"agent": agent, "gen": agent.run(tools), "answers": [], "lock": threading.Lock()}
                self.agents[script] = state
        turns = sum(1 for m in messages if m.get("role") == "assistant")
        with state["lock"]:
            if turns < len(state["answers"]):
                return state["answers"][turns]
            answer = self.step(state, turns, messages)
            state["answers"].append(answer)
            return answer

    def step(self, state, turns, messages):
        agent, gen = state["agent"], state["gen"]
        try:
            action = next(gen) if turns == 0 else gen.send(tool_results(messages))
            while action[0] == "sleep":
                time.sleep(action[1])
                action = next(gen)
        except StopIteration as end:
            return [{"type": "text", "text": str(end.value or "Done.")}], "end_turn"
        except Exception as e:  # a bug in the policy must end the agent, visibly
            agent.log("error", said=f"{type(e).__name__}: {e}")
            return [{"type": "text", "text": f"Stopped: {e}"}], "end_turn"
        _, name, tool_input, think = action
        time.sleep(think)
        block = {"type": "tool_use", "id": f"toolu_replay_{turns:03d}_{random.getrandbits(40):010x}",
                 "name": name, "input": tool_input}
        return [block], "tool_use"
