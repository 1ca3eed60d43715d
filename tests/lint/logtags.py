#!/usr/bin/env python3
"""Log tags are an interface: checks that each tag names one message, that every message at warn or above
carries one, that the tags the docs name exist, that every tag falls in a range README.md lists, and that the
routes (and the glue they log through) log with BLINKAUTH_RLOG, so that every line of a connect carries its context.

Usage: logtags.py [ROOT]   (ROOT: the source tree, default the repository). Prints one line per problem and
exits 1 when there is any."""
import re
import sys

import lintlib

CODE_GLOBS = ["mod_blinkauth.c", "glue/*.c", "glue/*.h", "routes/*.c", "routes/*.h", "modules/*.c", "modules/*.h"]
DOC_GLOBS = ["README.md", "docs/*.md", "conf/*.conf", "conf/*.in"]
LOG_CALL = re.compile(r"\b(?:ap_log_(?:r|c|p)?error|BLINKAUTH_RLOG)\s*\(")
# Files whose request log lines must carry the log context (flow reference, Auth ID, user): BLINKAUTH_RLOG only.
CONTEXT_GLOBS = ["routes/*.c", "glue/guard.c", "glue/reply.c", "glue/revoke.c"]
BARE_RLOG = re.compile(r"\bap_log_rerror\s*\(")
TAG_MACRO = re.compile(r"BLALOGNO\((\d{5})\)")
TAG_TEXT = re.compile(r"\bBLA(\d{5})\b")
LOUD = re.compile(r"APLOG_(WARNING|ERR|CRIT|ALERT|EMERG)\b")
RANGE_ROW = re.compile(r"^\|\s*`?BLA(\d{3})xx`?\s*\|", re.M)


def strip_comments(text):
    """The C text with comments blanked out (newlines kept, so line numbers stay right)."""
    return re.sub(r"/\*.*?\*/|//[^\n]*", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


def calls(text):
    """Each ap_log_*error call of the text: (line, the call's text up to its closing parenthesis)."""
    for m in LOG_CALL.finditer(text):
        depth, i = 0, m.end() - 1
        in_str = False
        while i < len(text):
            c = text[i]
            if in_str:
                if c == "\\":
                    i += 1
                elif c == '"':
                    in_str = False
            elif c == '"':
                in_str = True
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        yield text.count("\n", 0, m.start()) + 1, text[m.start():i + 1]


def check(root):
    """The problems found under root, one sentence each."""
    problems, seen = [], {}
    for path in sorted(p for g in CODE_GLOBS for p in root.glob(g)):
        rel = path.relative_to(root)
        text = strip_comments(path.read_text())
        for m in TAG_TEXT.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            problems.append(f"{rel}:{line}: BLA{m.group(1)} written out: use BLALOGNO({m.group(1)})")
        for m in TAG_MACRO.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            tag = m.group(1)
            if tag in seen:
                problems.append(f"{rel}:{line}: tag BLA{tag} is used again (first at {seen[tag]})")
            else:
                seen[tag] = f"{rel}:{line}"
        for line, call in calls(text):
            if LOUD.search(call) and not TAG_MACRO.search(call):
                problems.append(f"{rel}:{line}: a message at warn or above has no BLALOGNO tag")
    for path in sorted(p for g in CONTEXT_GLOBS for p in root.glob(g)):
        text = strip_comments(path.read_text())
        for m in BARE_RLOG.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            problems.append(f"{path.relative_to(root)}:{line}: ap_log_rerror without the log context: use BLINKAUTH_RLOG")
    readme = root / "README.md"
    ranges = set(RANGE_ROW.findall(readme.read_text())) if readme.exists() else set()
    for tag, where in sorted(seen.items()):
        if tag[:3] not in ranges:
            problems.append(f"{where}: tag BLA{tag} is in no range of README.md's table of log tags (BLA{tag[:3]}xx)")
    for path in sorted(p for g in DOC_GLOBS for p in root.glob(g)):
        text = path.read_text()
        for m in TAG_TEXT.finditer(text):
            if m.group(1) not in seen:
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{path.relative_to(root)}:{line}: BLA{m.group(1)} is named here but no code logs it")
    if not seen:
        problems.append("no BLALOGNO tag found at all: wrong root?")
    return problems, len(seen)


if __name__ == "__main__":
    sys.exit(lintlib.main("logtags", "tags", check))
