#!/usr/bin/env python3
"""Runs the command examples of README.md as written.

readme_examples.py README.md TOOLS_DIR WORK_DIR

Takes every command of the README's ```sh blocks that starts with build/bin/
(continuation lines joined), runs it in WORK_DIR, where `patterns` links to
the repository's patterns/ and build/bin to TOOLS_DIR, and prints one line
per command. Without a CUDA toolkit (ptxas under $SATTN_CUDA_ROOT or
/usr/local/cuda, as lit.cfg.py looks), ptx-info examples, which the README
says need it, are listed as skipped. Exits 1 if any command fails.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import time


def commands(readme):
    text = open(readme).read()
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
            if line.startswith("build/bin/"):
                found.append(re.sub(r"\s+", " ", line))
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("readme")
    ap.add_argument("tools")
    ap.add_argument("work")
    args = ap.parse_args()
    have_ptxas = any(root and os.access(os.path.join(root, "bin", "ptxas"), os.X_OK)
                     for root in (os.environ.get("SATTN_CUDA_ROOT", ""), "/usr/local/cuda"))
    skip = [] if have_ptxas else ["--emit=ptx-info"]
    repo = os.path.dirname(os.path.abspath(args.readme))
    os.makedirs(os.path.join(args.work, "build"), exist_ok=True)
    for name, target in (("patterns", os.path.join(repo, "patterns")),
                         (os.path.join("build", "bin"), os.path.abspath(args.tools))):
        link = os.path.join(args.work, name)
        if not os.path.lexists(link):
            os.symlink(target, link)
    env = dict(os.environ, SATTN_CACHE_DIR=os.path.join(args.work, "cache"))
    failed = 0
    cmds = commands(args.readme)
    for cmd in cmds:
        if any(word in cmd for word in skip):
            print(f"skipped: {cmd}")
            continue
        start = time.time()
        proc = subprocess.run(shlex.split(cmd), cwd=args.work, env=env,
                              capture_output=True, text=True)
        status = "ok" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
        print(f"{status} {time.time() - start:.1f}s: {cmd}")
        if proc.returncode != 0:
            failed += 1
            print(proc.stderr.strip()[-2000:])
    print(f"{len(cmds)} commands, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
