#!/usr/bin/env python3
"""The fault catalogue must point at real tests: every row of the tables in tests/FAULTS.md names, in its last
column, one or more tests as `path` "words" or `path` 'words' (path relative to tests/), and each path must exist and hold those
words (the test's own description, as the test prints it).

Usage: faults.py [ROOT]. Prints one line per problem and exits 1 when there is any."""
import re
import sys
from pathlib import Path

REFERENCE = re.compile(r"""`([^`\s]+)`\s+(?:"([^"]+)"|'([^']+)')""")


def rows(text):
    """(line number, last cell) of each table row that is not a header or a rule."""
    for number, line in enumerate(text.splitlines(), 1):
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) < 2 or set(cells[0]) <= set("-: ") or cells[0].lower() == "fault":
            continue
        yield number, cells[-1]


def main():
    """Check every reference of every row; report what is missing."""
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    catalogue = root / "tests" / "FAULTS.md"
    problems, seen = [], 0
    for number, cell in rows(catalogue.read_text()):
        refs = REFERENCE.findall(cell)
        if not refs:
            problems.append("tests/FAULTS.md:%d: the row names no test (`path` \"words\")" % number)
        for path, double, single in refs:
            words = double or single
            seen += 1
            target = root / "tests" / path
            if not target.is_file():
                problems.append("tests/FAULTS.md:%d: %s does not exist" % (number, path))
            elif words not in target.read_text(errors="replace"):
                problems.append("tests/FAULTS.md:%d: %s has no test \"%s\"" % (number, path, words))
    for p in problems:
        print(p)
    print("faults: %d references, %d problem(s)" % (seen, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
