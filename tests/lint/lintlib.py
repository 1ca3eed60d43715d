"""What the lint checkers share: the tree they read and how they report."""
import sys
from pathlib import Path


def main(name, noun, check):
    """Runs check(root) -> (problems, count) on the tree named on the command line (default: this repository),
    prints each problem and a summary line, and returns the exit status: 1 when there is any problem."""
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])
    problems, count = check(root)
    for p in problems:
        print(p)
    print(f"{name}: {count} {noun}, {len(problems)} problem(s)")
    return 1 if problems else 0
