#!/usr/bin/env python3
"""Writes each fenced code block of a Markdown file that defines a pattern
(a line starting with 'pattern ') to OUT/docN.sattn; prints the count."""
import sys


def main(markdown, out):
    blocks, current = [], None
    for line in open(markdown, encoding="utf-8"):
        if line.startswith("```"):
            if current is None:
                # Only plain fences: the grammar is fenced as ```ebnf.
                current = [] if line.strip() == "```" else False
            else:
                if current and any(l.startswith("pattern ") for l in current):
                    blocks.append("".join(current))
                current = None
        elif current is not None and current is not False:
            current.append(line)
    for i, block in enumerate(blocks):
        with open(f"{out}/doc{i}.sattn", "w", encoding="utf-8") as fh:
            fh.write(block)
    print(len(blocks), "patterns")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
