#!/usr/bin/env python3
"""Fetch the planner benchmark's real repositories (Python 3.11, stdlib only).

For every `<set>/<name>.json` beside this file (or those named on the command
line, or those of `--set dev|heldout|fresh`), download the pinned source, verify its
SHA-256 and unpack it so that `<dest>/<name>/` is the repository root given by
`source.root`. A repository already unpacked with the same checksum (marker
file `<dest>/<name>/.planner-eval-sha256`) is skipped.

Kinds:
  archive  `url` of a .tar.gz, .tgz or .crate (a gzipped tar), fetched with
           urllib; `root` is the directory inside it that is the repository
           root ("" if the archive has none).
  deb      `package` and `version` for `apt-get download`; `sha256` is the
           .deb's; unpacked with `dpkg-deb -x`; `root` is the directory inside
           the package's data, e.g. usr/share/gocode/src/github.com/spf13/pflag.

Usage:
  python3 benches/planner_eval/fetch.py                 # every set
  python3 benches/planner_eval/fetch.py --set dev
  python3 benches/planner_eval/fetch.py dev/httpx.json  # or a bare name: httpx
  python3 benches/planner_eval/fetch.py --dest /tmp/x --set heldout
  python3 benches/planner_eval/fetch.py --list

Exit status is non-zero if any repository failed; each failure names the
repository and what failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETS = ("dev", "heldout", "fresh")
MARKER = ".planner-eval-sha256"
USER_AGENT = "ccmulti-planner-eval-fetch/1 (stdlib urllib)"


class FetchError(Exception):
    pass


def repo_root() -> Path:
    """The repository root: `git rev-parse`, else two levels above this file."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=HERE, capture_output=True, text=True, check=True,
        )
        return Path(out.stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return HERE.parent.parent


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_spec(path: Path) -> dict:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise FetchError(f"{path}: cannot read the json: {e}") from e
    for key in ("name", "language", "source", "tasks"):
        if key not in spec:
            raise FetchError(f"{path}: missing key {key!r}")
    src = spec["source"]
    kind = src.get("kind")
    need = {"archive": ("url", "sha256", "root"),
            "deb": ("package", "version", "sha256", "root")}.get(kind)
    if need is None:
        raise FetchError(f"{path}: source.kind must be 'archive' or 'deb', not {kind!r}")
    for key in need:
        if key not in src:
            raise FetchError(f"{path}: source.{key} missing for kind {kind!r}")
    return spec


def spec_paths(args) -> list[Path]:
    if args.specs:
        out = []
        for s in args.specs:
            p = Path(s)
            if p.suffix != ".json":
                # a bare name: look in every set
                hits = [HERE / st / f"{s}.json" for st in SETS if (HERE / st / f"{s}.json").exists()]
                if not hits:
                    raise FetchError(f"{s}: no {s}.json under {', '.join(str(HERE / st) for st in SETS)}")
                out.extend(hits)
                continue
            if not p.is_absolute() and not p.exists() and (HERE / p).exists():
                p = HERE / p
            if not p.exists():
                raise FetchError(f"{s}: no such file")
            out.append(p.resolve())
        return out
    sets = [args.set] if args.set else list(SETS)
    out = []
    for st in sets:
        out.extend(sorted((HERE / st).glob("*.json")))
    return out


def set_of(path: Path) -> str:
    return path.parent.name if path.parent.name in SETS else "?"


def download(url: str, to: Path, name: str) -> None:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    last = None
    for attempt in range(3):
        try:
            with urllib.request.urlopen(req, timeout=120) as r, open(to, "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
            return
        except urllib.error.HTTPError as e:
            # a 4xx will not get better by retrying
            if 400 <= e.code < 500:
                raise FetchError(f"{name}: download of {url} failed: HTTP {e.code} {e.reason}") from e
            last = e
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            last = e
    raise FetchError(f"{name}: download of {url} failed after 3 tries: {last}")


def safe_extract(tar: tarfile.TarFile, into: Path, name: str) -> None:
    into = into.resolve()
    for m in tar.getmembers():
        target = (into / m.name).resolve()
        if target != into and into not in target.parents:
            raise FetchError(f"{name}: archive member {m.name!r} escapes the destination")
    try:
        tar.extractall(into, filter="data")
    except TypeError:  # Python without extraction filters
        tar.extractall(into)


def apt_download(pkg: str, version: str, into: Path, name: str) -> Path:
    cmd = ["apt-get", "download", "-q", f"{pkg}={version}"]
    updated = False
    while True:
        try:
            r = subprocess.run(cmd, cwd=into, capture_output=True, text=True)
        except OSError as e:
            raise FetchError(f"{name}: cannot run apt-get ({e}); the deb kind needs a Debian-like machine") from e
        debs = list(into.glob("*.deb"))
        if r.returncode == 0 and debs:
            return debs[0]
        if updated:
            msg = (r.stderr or r.stdout).strip().splitlines()
            raise FetchError(
                f"{name}: 'apt-get download {pkg}={version}' failed even after apt-get update: "
                + (" | ".join(msg[-3:]) or f"exit {r.returncode}"))
        # likely no package lists yet (fresh machine) or stale ones: update once, retry
        print(f"{name}: apt-get download failed, running 'apt-get update -qq' once and retrying",
              file=sys.stderr)
        u = subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True)
        if u.returncode != 0:
            raise FetchError(f"{name}: 'apt-get update -qq' failed: {u.stderr.strip()[-500:]}")
        updated = True


def fetch_one(spec: dict, dest_base: Path, force: bool) -> str:
    name = spec["name"]
    src = spec["source"]
    want = src["sha256"].lower()
    final = dest_base / name
    marker = final / MARKER
    if not force and marker.exists() and marker.read_text().strip() == want:
        return "present"
    dest_base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=dest_base) as tmp:
        tmp = Path(tmp)
        unpack = tmp / "unpack"
        unpack.mkdir()
        if src["kind"] == "archive":
            url = src["url"]
            blob = tmp / "source.tar.gz"
            download(url, blob, name)
            got = sha256_of(blob)
            if got != want:
                raise FetchError(f"{name}: SHA-256 mismatch for {url}: expected {want}, got {got}")
            try:
                with tarfile.open(blob, "r:*") as tar:
                    safe_extract(tar, unpack, name)
            except (tarfile.TarError, OSError, EOFError) as e:
                raise FetchError(f"{name}: cannot unpack {url}: {e}") from e
        else:
            dl = tmp / "deb"
            dl.mkdir()
            deb = apt_download(src["package"], src["version"], dl, name)
            got = sha256_of(deb)
            if got != want:
                raise FetchError(
                    f"{name}: SHA-256 mismatch for {deb.name} ({src['package']}={src['version']}): "
                    f"expected {want}, got {got}")
            r = subprocess.run(["dpkg-deb", "-x", str(deb), str(unpack)], capture_output=True, text=True)
            if r.returncode != 0:
                raise FetchError(f"{name}: dpkg-deb -x {deb.name} failed: {r.stderr.strip()}")
        root = unpack / src["root"] if src["root"] else unpack
        if not root.is_dir():
            present = sorted(p.name for p in unpack.iterdir())[:10]
            raise FetchError(f"{name}: root {src['root']!r} is not a directory in the source "
                             f"(top level has: {', '.join(present) or 'nothing'})")
        missing = [f for t in spec["tasks"] for f in t.get("files", [])
                   if not (root / f).is_file()]
        if missing:
            raise FetchError(f"{name}: task files not found under root {src['root']!r}: "
                             + ", ".join(sorted(set(missing))[:10]))
        (root / MARKER).write_text(want + "\n")
        if final.exists() or final.is_symlink():
            if final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            else:
                final.unlink()
        os.replace(root, final)
    return "fetched"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Fetch the planner benchmark's real repositories.")
    ap.add_argument("specs", nargs="*", help="json files (or bare names) to fetch; default: all")
    ap.add_argument("--set", choices=SETS, help="only this half")
    ap.add_argument("--dest", help="where to unpack (default: target/planner-eval under the repository root)")
    ap.add_argument("--list", action="store_true", help="print name, language, set, tasks; fetch nothing")
    ap.add_argument("--force", action="store_true", help="fetch again even if present")
    args = ap.parse_args(argv)

    try:
        paths = spec_paths(args)
    except FetchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not paths:
        where = f"under {HERE / args.set}" if args.set else "on the command line or under " + ", ".join(f"{st}/" for st in SETS)
        print(f"error: no repository json found {where}", file=sys.stderr)
        return 2

    failed = 0
    specs = []
    for p in paths:
        try:
            specs.append((p, load_spec(p)))
        except FetchError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1

    if args.list:
        print(f"{'name':<24} {'language':<12} {'set':<8} tasks")
        for p, s in specs:
            print(f"{s['name']:<24} {s['language']:<12} {set_of(p):<8} {len(s['tasks'])}")
        return 1 if failed else 0

    # an explicit --dest is taken as given (relative to the current directory)
    dest = Path(args.dest).resolve() if args.dest else repo_root() / "target" / "planner-eval"
    for p, s in specs:
        try:
            how = fetch_one(s, dest, args.force)
            print(f"{s['name']}: {how} -> {dest / s['name']}")
        except FetchError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
        except Exception as e:  # keep going, but say which repository
            print(f"error: {s['name']}: unexpected {type(e).__name__}: {e}", file=sys.stderr)
            failed += 1
    if failed:
        print(f"{failed} repository(ies) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
