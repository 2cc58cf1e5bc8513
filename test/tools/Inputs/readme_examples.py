#!/usr/bin/env python3
"""Runs the command examples of README.md as written.

readme_examples.py README.md TOOLS_DIR WORK_DIR

Takes every command of the README's ```sh blocks that starts with build/bin/
or python3 (continuation lines joined; `export` lines set the environment of
the commands after them) and every ```python block, runs each in WORK_DIR,
where `patterns`, `examples` and `python` link to the repository's folders and
build/bin and build/lib to TOOLS_DIR and the library folder next to it, and
prints one line per command. Without a CUDA toolkit (ptxas under
$SATTN_CUDA_ROOT or /usr/local/cuda, as lit.cfg.py looks), ptx-info
examples, which the README says need it, are listed as skipped; so are
Python blocks that use CUDA where torch sees no device. Exits 1 if any
command fails.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import time


def commands(readme):
    """("sh", command, exports) and ("python", source, {}) in README order."""
    text = open(readme).read()
    found = []
    for lang, block in re.findall(r"```(sh|python)\n(.*?)```", text, re.S):
        if lang == "python":
            found.append(("python", block, {}))
            continue
        exports = {}
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
            if line.startswith("export "):
                for assignment in shlex.split(line)[1:]:
                    name, _, value = assignment.partition("=")
                    exports[name] = value
            elif line.startswith(("build/bin/", "python3 ")):
                found.append(("sh", re.sub(r"\s+", " ", line), dict(exports)))
    return found


def cuda_visible():
    """Whether torch imports and sees a CUDA device."""
    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    return subprocess.run([sys.executable, "-c", probe],
                          capture_output=True).returncode == 0


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
    tools = os.path.abspath(args.tools)
    os.makedirs(os.path.join(args.work, "build"), exist_ok=True)
    for name, target in (("patterns", os.path.join(repo, "patterns")),
                         ("examples", os.path.join(repo, "examples")),
                         ("python", os.path.join(repo, "python")),
                         (os.path.join("build", "bin"), tools),
                         (os.path.join("build", "lib"),
                          os.path.join(os.path.dirname(tools), "lib"))):
        link = os.path.join(args.work, name)
        if not os.path.lexists(link):
            os.symlink(target, link)
    env = dict(os.environ, SATTN_CACHE_DIR=os.path.join(args.work, "cache"))
    python_env = dict(env, PYTHONPATH=os.path.join(args.work, "python"),
                      SATTN_LIBRARY=os.path.join(args.work, "build", "lib",
                                                 "libsattn.so"))
    failed = 0
    cmds = commands(args.readme)
    cuda = None
    for kind, cmd, exports in cmds:
        shown = cmd if kind == "sh" else "python block: " + cmd.strip().splitlines()[0]
        if kind == "sh" and any(word in cmd for word in skip):
            print(f"skipped: {shown}")
            continue
        if kind == "python" and "cuda" in cmd:
            cuda = cuda_visible() if cuda is None else cuda
            if not cuda:
                print(f"skipped (no torch with a CUDA device): {shown}")
                continue
        start = time.time()
        if kind == "sh":
            argv = shlex.split(cmd)
            if argv[0] == "python3":
                argv[0] = sys.executable
            proc = subprocess.run(argv, cwd=args.work, env=dict(env, **exports),
                                  capture_output=True, text=True)
        else:
            proc = subprocess.run([sys.executable, "-c", cmd], cwd=args.work,
                                  env=python_env, capture_output=True,
                                  text=True)
        status = "ok" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
        print(f"{status} {time.time() - start:.1f}s: {shown}")
        if proc.returncode != 0:
            failed += 1
            print(proc.stderr.strip()[-2000:])
    print(f"{len(cmds)} commands, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
