#!/usr/bin/env python3
"""The README's map must be true: every folder of the repository (top level, and each suite under tests/) is
named in the map of README.md's "Layout" section, and every folder named there exists.

Usage: map.py [ROOT]. Prints one line per problem and exits 1 when there is any."""
import re
import subprocess
import sys

import lintlib


def tracked_dirs(root):
    """Top-level folders and tests/<suite> folders that hold files git tracks (or, outside git, any file)."""
    try:
        files = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        files = [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    dirs = set()
    for f in files:
        parts = f.split("/")
        if len(parts) > 1 and not parts[0].startswith("."):
            dirs.add(parts[0] + "/")
        if len(parts) > 2 and parts[0] == "tests":
            dirs.add("tests/" + parts[1] + "/")
    return dirs


def layout_section(readme):
    """The map in README.md's "## Layout" section: its first code block."""
    m = re.search(r"^## Layout\n.*?^```\n(.*?)^```", readme, re.S | re.M)
    return m.group(1) if m else ""


def check(root):
    """The problems found, one sentence each, and how many folders there are."""
    section = layout_section((root / "README.md").read_text())
    present = tracked_dirs(root)
    if not section:
        return ["README.md has no '## Layout' section"], len(present)
    named = set(re.findall(r"(?<![\w./-])((?:tests/)?[a-z][a-z0-9_-]*/)", section))
    problems = [f"{d} is in the repository but not in README.md's Layout" for d in sorted(present - named)]
    problems += [f"README.md's Layout names {d}, which is not in the repository" for d in sorted(named - present)]
    return problems, len(present)


if __name__ == "__main__":
    sys.exit(lintlib.main("map", "folders", check))
