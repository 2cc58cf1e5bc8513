#!/usr/bin/env python3
"""Checks sattn's one-way layering (docs/design.md, "Layers").

Every project #include of a source file must name a header of its own layer
or of a layer it may use, and the launch path's libraries must not link a
compiler library. Prints each violation; exits 1 when there is one.

  layer       may include
  support     support
  reference   reference, support
  dialect     dialect
  passes      passes, dialect, support
  codegen     codegen, passes, dialect, support
  patterns    patterns, dialect, reference, support
  runtime     runtime, support; the compile entry point (Compiler.cpp) also
              codegen, patterns; the C API (CApi.cpp), which is the whole
              library to its users, also patterns and reference (its
              sattn_reference / sattn_check / picture functions)
  tools, examples, test, bench: anything
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), ".."))

# Folder of the header an include names: "passes/X.h" -> passes; public
# headers "sattn/X.h" live in support, reference or runtime.
PUBLIC = {}
for layer in ("support", "reference", "runtime"):
    inc = os.path.join(ROOT, layer, "include", "sattn")
    if os.path.isdir(inc):
        for name in os.listdir(inc):
            PUBLIC["sattn/" + name] = layer

ALLOWED = {
    "support": {"support"},
    "reference": {"reference", "support"},
    "dialect": {"dialect"},
    "passes": {"passes", "dialect", "support"},
    "codegen": {"codegen", "passes", "dialect", "support"},
    "patterns": {"patterns", "dialect", "reference", "support"},
    "runtime": {"runtime", "support"},
}
# Only the compile entry point of the runtime reaches the compiler.
ENTRY_POINTS = {
    "runtime/lib/Compiler.cpp": {"codegen", "patterns", "dialect"},
    "runtime/lib/PatternSourceRequest.h": {"patterns"},
    "runtime/lib/CApi.cpp": {"patterns", "reference"},
}
# Libraries of the launch path, and the compiler libraries they must not link.
LAUNCH_PATH = ("SattnBackends", "SattnCache", "SattnCuda", "SattnSupport")
COMPILER = ("SattnPasses", "SattnCodegen", "SattnDialect", "SattnTileDialect",
            "SattnPatterns", "SattnDsl", "MLIR")

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def header_layer(path, including_dir):
    if path in PUBLIC:
        return PUBLIC[path]
    first = path.split("/")[0]
    if first in ALLOWED:
        return first
    if os.path.exists(os.path.join(including_dir, path)):
        return None  # a file next to the includer: its own layer
    return None


def check_includes(problems):
    for layer in ALLOWED:
        base = os.path.join(ROOT, layer)
        for dirpath, _, files in os.walk(base):
            for name in files:
                if not name.endswith((".cpp", ".h", ".td")):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, ROOT)
                allowed = ALLOWED[layer] | ENTRY_POINTS.get(rel, set())
                text = open(full, encoding="utf-8").read()
                for m in INCLUDE.finditer(text):
                    target = header_layer(m.group(1), dirpath)
                    if target and target not in allowed:
                        line = text.count("\n", 0, m.start()) + 1
                        problems.append(f"{rel}:{line}: {layer} includes "
                                        f"{m.group(1)} ({target})")


LINK = re.compile(r"target_link_libraries\(\s*(\w+)([^)]*)\)", re.S)


def check_links(problems):
    for dirpath, dirs, files in os.walk(ROOT):
        # Build trees and checkouts of other projects are not the source.
        dirs[:] = [d for d in dirs if not d.startswith(("build", "."))]
        if "CMakeLists.txt" not in files:
            continue
        path = os.path.join(dirpath, "CMakeLists.txt")
        text = open(path, encoding="utf-8").read()
        for m in LINK.finditer(text):
            if m.group(1) not in LAUNCH_PATH:
                continue
            for lib in m.group(2).split():
                if lib in COMPILER:
                    problems.append(f"{os.path.relpath(path, ROOT)}: "
                                    f"{m.group(1)} links {lib}")


def main():
    problems = []
    check_includes(problems)
    check_links(problems)
    for p in problems:
        print(p)
    print(f"layering: {len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
