#!/usr/bin/env python3
"""Derive the replay benchmark's windows of real history from package registries.

Python 3.11 standard library and git only. For every window in sources.json:
download each pinned release archive of the project (PyPI sdist, crates.io
.crate, npm tarball), check its SHA-256, and write under windows/<name>/:

  window.json      provenance and the window's commits (version, message, author, diff)
  base/<path>      the files the window's commits touch, as they were at its first version
  commits/NN.diff  each next version's change to those files (git's unified diff)
  LICENSE          the project's licence text, from the first archive

Consecutive releases of these projects are consecutive changes (each release
carries one merged change, or a few), so a window of 5 releases is 5 commits
that build on each other's text (every one bumps the same version line).

Files the publishing tool generates (e.g. PKG-INFO, Cargo.toml as cargo
normalises it, a bundled dist/ build) are left out: an agent could not
sensibly edit them by hand. They are listed per project ("generated") and in
each window.json. A rename maps a published file to its name in the source
repository (crates publish the real Cargo.toml as Cargo.toml.orig).

The registries publish no commit messages or per-change authors: a commit's
message is the release's changelog entry where the archive carries a changelog
(qs), else the release's name; its author is the package metadata's author.

Usage:
  python3 benches/replay/derive.py              # every window, written in place
  python3 benches/replay/derive.py --check      # derive into a temp dir and compare with the committed windows
  python3 benches/replay/derive.py qs-6.12      # only these windows
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
USER_AGENT = "ccmulti-replay-derive/1 (stdlib urllib)"


class DeriveError(Exception):
    pass


def download(url: str, sha256: str) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    last = None
    for _ in range(3):
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                blob = r.read()
            break
        except urllib.error.HTTPError as e:
            if 400 <= e.code < 500:
                raise DeriveError(f"download of {url} failed: HTTP {e.code} {e.reason}") from e
            last = e
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            last = e
    else:
        raise DeriveError(f"download of {url} failed after 3 tries: {last}")
    got = hashlib.sha256(blob).hexdigest()
    if got != sha256:
        raise DeriveError(f"SHA-256 mismatch for {url}: expected {sha256}, got {got}")
    return blob


def archive_files(blob: bytes) -> dict[str, bytes]:
    """Every regular file of a gzipped tar, by its path without the top directory."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            parts = member.name.split("/", 1)
            if len(parts) != 2 or ".." in Path(parts[1]).parts:
                continue
            data = tar.extractfile(member)
            if data is not None:
                out[parts[1]] = data.read()
    return out


def generated(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def source_tree(project: dict, files: dict[str, bytes]) -> dict[str, bytes]:
    """The files as they are in the project's repository: generated ones out, renames applied."""
    out = {}
    for path, data in files.items():
        if generated(path, project["generated"]):
            continue
        out[project["rename"].get(path, path)] = data
    return out


def git(cwd: Path, *args: str) -> str:
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True)
    if r.returncode != 0:
        raise DeriveError(f"git {' '.join(args)} failed: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout.decode("utf-8")


def write_tree(root: Path, files: dict[str, bytes], paths: list[str]) -> None:
    for path in paths:
        target = root / path
        if path in files:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[path])
        elif target.exists():
            target.unlink()


def changelog_entry(diff: str, version: str) -> str:
    """The lines a release added to CHANGELOG.md under its own heading."""
    section = re.search(r"^diff --git a/CHANGELOG.md .*?(?=^diff --git |\Z)", diff, re.M | re.S)
    lines = section.group(0).splitlines() if section else []
    added = [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]
    text = "\n".join(added)
    match = re.search(r"^##\s+\*\*" + re.escape(version) + r"\*\*\s*$(.*?)(?=^##\s|\Z)", text, re.M | re.S)
    return match.group(1).strip() if match else ""


def author_of(project: dict, files: dict[str, bytes]) -> str:
    source = project["author_from"]
    text = files.get(source, b"").decode("utf-8", "replace")
    if source == "PKG-INFO":
        match = re.search(r"^Author(?:-email)?: (.+)$", text, re.M)
        return match.group(1).split("<")[0].strip().strip('"') if match else ""
    if source == "Cargo.toml.orig":
        match = re.search(r'^authors\s*=\s*\["([^"<]+)', text, re.M)
        return match.group(1).strip() if match else ""
    if source == "package.json":
        meta = json.loads(text)
        author = meta.get("author") or (meta.get("contributors") or [None])[0]
        if isinstance(author, dict):
            return author.get("name", "")
        return str(author or "").split("<")[0].strip()
    raise DeriveError(f"unknown author_from {source!r}")


def message_of(name: str, project: dict, version: str, diff: str) -> str:
    if project["message"] == "changelog":
        entry = changelog_entry(diff, version)
        return f"v{version}\n\n{entry}" if entry else f"v{version}"
    return f"{name} {version}"


def derive_window(window: dict, project: dict, dest: Path) -> None:
    name, versions = window["name"], window["versions"]
    trees = []
    published = []
    for version in versions:
        pin = project["archives"][version]
        files = archive_files(download(pin["url"], pin["sha256"]))
        published.append(files)
        trees.append(source_tree(project, files))
    touched = sorted({p for a, b in zip(trees, trees[1:]) for p in set(a) | set(b) if a.get(p) != b.get(p)})
    left_out = sorted({p for a, b in zip(published, published[1:]) for p in set(a) | set(b)
                       if a.get(p) != b.get(p) and generated(p, project["generated"])})
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "commits").mkdir(parents=True)
    write_tree(dest / "base", trees[0], touched)
    license_text = published[0].get(project["license_file"])
    if license_text is None:
        raise DeriveError(f"{name}: no {project['license_file']} in {versions[0]}")
    (dest / "LICENSE").write_bytes(license_text)
    commits = []
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        git(repo, "init", "-q")
        write_tree(repo, trees[0], touched)
        git(repo, "add", "-A")
        git(repo, "-c", "user.name=derive", "-c", "user.email=derive@localhost",
            "commit", "-q", "--allow-empty", "-m", versions[0])
        for i, (version, tree) in enumerate(zip(versions[1:], trees[1:]), start=1):
            write_tree(repo, tree, touched)
            git(repo, "add", "-A")
            diff = git(repo, "diff", "--cached", "--no-color", "--no-ext-diff", "--no-renames", "-U3")
            files = sorted(re.findall(r"^diff --git a/(\S+) b/", diff, re.M))
            if not files:
                raise DeriveError(f"{name}: {version} changes none of the window's files")
            git(repo, "-c", "user.name=derive", "-c", "user.email=derive@localhost",
                "commit", "-q", "--allow-empty", "-m", version)
            diff_file = f"commits/{i:02d}-{version}.diff"
            (dest / diff_file).write_text(diff, encoding="utf-8")
            commits.append({
                "version": version,
                "message": message_of(window["project"], project, version, diff),
                "author": author_of(project, published[i]),
                "files": files,
                "diff": diff_file,
            })
    record = {
        "name": name,
        "project": window["project"],
        "language": project["language"],
        "license": project["license"],
        "license_file": "LICENSE",
        "homepage": project["homepage"],
        "registry": project["registry"],
        "why_this_project": project["why"],
        "base_version": versions[0],
        "archives": {v: project["archives"][v] for v in versions},
        "left_out_as_generated": left_out,
        "renamed": project["rename"],
        "messages": "the release's changelog entry" if project["message"] == "changelog"
                    else "the release's name (the registry publishes no commit messages)",
        "files": touched,
        "commits": commits,
    }
    (dest / "window.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def same_tree(a: Path, b: Path) -> list[str]:
    names = lambda root: {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    differ = []
    for rel in sorted(names(a) | names(b)):
        if not (a / rel).is_file() or not (b / rel).is_file() or (a / rel).read_bytes() != (b / rel).read_bytes():
            differ.append(rel)
    return differ


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Derive the replay windows from package registries.")
    ap.add_argument("windows", nargs="*", help="window names (default: all)")
    ap.add_argument("--check", action="store_true", help="derive into a temp dir and compare with windows/")
    args = ap.parse_args(argv)
    sources = json.loads((HERE / "sources.json").read_text(encoding="utf-8"))
    chosen = [w for w in sources["windows"] if not args.windows or w["name"] in args.windows]
    unknown = set(args.windows) - {w["name"] for w in sources["windows"]}
    if unknown:
        print(f"error: no window named {', '.join(sorted(unknown))} in sources.json", file=sys.stderr)
        return 2
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for window in chosen:
            name = window["name"]
            dest = (Path(tmp) if args.check else HERE / "windows") / name
            try:
                derive_window(window, sources["projects"][window["project"]], dest)
            except DeriveError as e:
                print(f"error: {name}: {e}", file=sys.stderr)
                failed += 1
                continue
            if args.check:
                differ = same_tree(dest, HERE / "windows" / name)
                if differ:
                    print(f"{name}: differs from the committed window: {', '.join(differ[:10])}")
                    failed += 1
                else:
                    print(f"{name}: same as committed")
            else:
                print(f"{name}: written to {dest}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
