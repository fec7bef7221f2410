#!/usr/bin/env python3
"""The server's own latency of some tools over a run, from /metrics.

    python3 benches/http_load/tool_latency.py save  URL TOOL...   # before the run
    python3 benches/http_load/tool_latency.py since URL TOOL...   # after it

Reads `ccmulti_tool_duration_seconds` (dispatch to result, the write queue
included) and prints, for the calls made between the two, the share done
within each bucket: what the server itself spent, to set against the load
generator's percentiles, which include the client and the scheduler.
"""
import json
import re
import sys
import urllib.request

SAVED = "/tmp/ccmulti-tool-latency.json"


def buckets(url, tools):
    text = urllib.request.urlopen(url.rstrip("/") + "/metrics").read().decode()
    totals = {}
    pattern = r'ccmulti_tool_duration_seconds_bucket\{tool="([^"]+)",le="([^"]+)"\} (\d+)'
    for tool, le, count in re.findall(pattern, text):
        if tool in tools:
            totals[le] = totals.get(le, 0) + int(count)
    return totals


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("save", "since"):
        sys.exit(__doc__)
    action, url, tools = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    now = buckets(url, tools)
    if action == "save":
        json.dump(now, open(SAVED, "w"))
        return
    before = json.load(open(SAVED))
    calls = now["+Inf"] - before.get("+Inf", 0)
    if calls == 0:
        sys.exit("no calls of those tools since `save`")
    shares = []
    for le in sorted((k for k in now if k != "+Inf"), key=float):
        done = now[le] - before.get(le, 0)
        shares.append(f"<= {float(le) * 1000:g} ms {100 * done / calls:.2f} %")
    print(f"{calls} calls: " + ", ".join(shares))


if __name__ == "__main__":
    main()
