#!/usr/bin/env python3
"""help_defaults.py TOOL...: every option a tool's --help lists with a value
says its default: in its own line, or, for a list of values, in the line of
the value that is the default. Options that have no default (input and
output files, seeds, repeatable and required options) are listed here.

Prints one line per tool; exits 1 if an option says no default.
"""
import re
import subprocess
import sys

NO_DEFAULT = {"emit", "seq-len", "set", "q", "k", "v", "key-score", "weights", "input",
              "random-inputs", "llm-inputs", "json", "lse", "o"}


def options(help_text):
    """(name, text of its line and of its value lines) in General options."""
    section = help_text.split("General options:", 1)[1].split(
        "Generic Options:", 1)[0]
    found = []
    for line in section.splitlines():
        m = re.match(r"\s{2}-{1,2}([\w-]+)[=\s]", line)
        if m:
            found.append([m.group(1), line])
        elif found and line.startswith("    "):
            found[-1][1] += "\n" + line  # a value of a list
    return found


def main():
    failed = 0
    for tool in sys.argv[1:]:
        text = subprocess.run([tool, "--help"], capture_output=True,
                              text=True, check=True).stdout
        missing = [name for name, lines in options(text)
                   if ("=<" in lines.splitlines()[0] or
                       re.match(r"\s+-\w <", lines))
                   and name not in NO_DEFAULT and "default" not in lines]
        verdict = ("every default shown" if not missing else
                   "no default: " + ", ".join(missing))
        print(f"{tool.rsplit('/', 1)[-1]}: {verdict}")
        failed += bool(missing)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
