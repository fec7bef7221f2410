#!/usr/bin/env python3
"""Sums a `perf record` of the server into a few kinds of work, for the
profile tables of BENCHMARKS.md ("HTTP under wrk").

    python3 benches/http_load/profile_summary.py DIR/*.data
    python3 benches/http_load/profile_summary.py --under SYMBOL DIR/x.data

Self time per symbol (`perf report --no-children`), each symbol put in the
first bucket whose pattern it matches. With `--under`, instead: the share of
samples whose stack passes through a frame containing SYMBOL, split by the
frame called from it (the call graph needs a build with frame pointers:
`RUSTFLAGS="-C force-frame-pointers=yes" cargo build --profile profiling`;
the `profiling` profile is the release build with line tables, which the
plain release build leaves out).
"""
import collections
import re
import subprocess
import sys

BUCKETS = [
    ("allocator (malloc/free)", r"malloc|_int_free|cfree|free@|unlink_chunk|realloc|_int_realloc|mi_|calloc|tcache|arena"),
    ("thread hand-offs (futex, scheduler, wake-ups)", r"futex|finish_task_switch|try_to_wake_up|schedule|_raw_spin_unlock_irqrestore|__lll_lock|sched_yield|pthread_cond|switch_mm|__switch_to|native_queued_spin|pick_next|enqueue|dequeue|update_curr|select_task_rq|psi_"),
    ("SQLite", r"sqlite3|^pager|btree|wal[A-Z]|vdbe|Vdbe|^unix|walWrite|yy_|^balance|moveToChild|getAndInitPage|pcache|memjrnl|sqlite"),
    ("serde_json / Value / IndexMap", r"serde_json|indexmap|serde_core|serde::|Visitor|format_escaped_str|parse_str|hashbrown|schemars"),
    ("kernel: network and syscalls", r"tcp_|sock_|skb|__sys_|ip_|net_|loopback|__x64_sys|syscall|entry_SYSCALL|recv|send|epoll|copy_user|_copy_|__check_object_size|do_syscall|__fget|fdget|writev|readv|exit_to_user"),
    ("kernel: files and pages", r"ext4|folio|filemap|mark_buffer|jbd2|block_|iomap|generic_perform_write|vfs_|page_|pwrite|fsync|fdatasync|lseek"),
    ("memcpy/memmove/strings", r"memmove|memcpy|memset|memcmp|strlen|from_utf8|strcmp"),
    ("tokio / hyper / axum / rmcp", r"tokio|hyper|axum|rmcp|tower|h1|httparse|http::|futures|bytes::"),
]

def summarise(path):
    out = subprocess.run(
        ["perf", "report", "-i", path, "--no-children", "--sort", "dso,symbol", "-g", "none",
         "--stdio", "--percent-limit", "0"],
        capture_output=True, text=True).stdout
    totals = {name: 0.0 for name, _ in BUCKETS}
    totals["other"] = 0.0
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)", line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
        for name, pattern in BUCKETS:
            if re.search(pattern, sym):
                totals[name] += pct
                break
        else:
            totals["other"] += pct
    return totals

def under(symbol, path):
    script = subprocess.run(
        ["perf", "script", "-i", path, "-F", "ip,sym"], capture_output=True, text=True).stdout
    total, inside, callees = 0, 0, collections.Counter()
    for sample in script.split("\n\n"):
        # Each line is "address symbol", innermost frame first.
        frames = [line.strip().split(" ", 1)[-1] for line in sample.strip().splitlines() if line.strip()]
        if not frames:
            continue
        total += 1
        outermost = next((i for i in range(len(frames) - 1, -1, -1) if symbol in frames[i]), None)
        if outermost is None:
            continue
        inside += 1
        callees[frames[outermost - 1][:100] if outermost > 0 else "(itself)"] += 1
    print(f"{symbol}: {100 * inside / max(total, 1):.1f} % of {total} samples")
    for callee, n in callees.most_common(12):
        print(f"  {100 * n / total:5.1f} %  {callee}")

def main():
    if sys.argv[1:2] == ["--under"]:
        for path in sys.argv[3:]:
            under(sys.argv[2], path)
        return
    paths = sys.argv[1:]
    results = [(p.rsplit("/", 1)[-1].removesuffix(".data"), summarise(p)) for p in paths]
    names = [n for n, _ in BUCKETS] + ["other"]
    print("| kind of work | " + " | ".join(r for r, _ in results) + " |")
    print("|---|" + "---:|" * len(results))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{t[n]:.0f} %" for _, t in results) + " |")

main()
