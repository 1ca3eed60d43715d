#!/usr/bin/env python3
"""Writes every ```apache block of README.md and docs/*.md as a piece of httpd configuration that can be
checked with apache2 -t, one file per block: OUTDIR/<n>.conf, and OUTDIR/<n>.where (file:line of the block).

What a reader would have to adapt to their machine is adapted, and nothing else:
  - file:/... secrets point at a file OUTDIR/secret made here (the reader has their own);
  - mod_blinkauth.so is the one built in this tree (the reader's is installed);
  - SSLCertificateFile / SSLCertificateKeyFile point at the test certificate passed as CERT and KEY;
  - a block of only per-app BlinkAuth directives (a fragment) is placed in a complete app's <Location>, whose
    lines stand in only for the directives the block does not set.
Each conf/providers/*.conf preset is one more block (its whole text, "conf/providers/<name>.conf:1").
Usage: doc_blocks.py ROOT OUTDIR MODULE CERT KEY"""
import re
import sys
from pathlib import Path

APP = """<Location "/blink">
    SetHandler blinkauth
    BlinkAuthID            doc-fragment
    BlinkAuthProxySecret   s
    BlinkAuthAPIToken      t
    BlinkAuthClientID      c
    BlinkAuthAuthorizeURL  https://idp.example/authorize
    BlinkAuthTokenURL      https://idp.example/token
{body}
</Location>
"""


# Directives of the server's own configuration: a block of them is no fragment of an app's <Location>.
SERVER_WIDE = {"BlinkAuthCache", "BlinkAuthTokenCache", "BlinkAuthStateKey"}


def blocks(path):
    """Each ```apache block of a Markdown file: (line of its first line, its text without the indent)."""
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```apache\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, start, body = len(m.group(1)), i + 2, []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        yield start, "\n".join(body) + "\n"
        i += 1


def adapt(text, out, module, cert, key):
    """The block with the machine-specific paths replaced (see the module's comment)."""
    text = re.sub(r"file:/\S+", f"file:{out}/secret", text)
    text = re.sub(r"(LoadModule\s+blinkauth_module\s+)\S+", lambda m: m.group(1) + module, text)
    text = re.sub(r"(SSLCertificateFile\s+)\S+", lambda m: m.group(1) + cert, text)
    text = re.sub(r"(SSLCertificateKeyFile\s+)\S+", lambda m: m.group(1) + key, text)
    directives = [l.split()[0] for l in text.split("\n") if l.strip() and not l.strip().startswith("#")]
    if directives and all(d.startswith("BlinkAuth") and d not in SERVER_WIDE for d in directives):
        own = {d.lower() for d in directives}
        app = "\n".join(l for l in APP.split("\n") if not l.strip() or l.split()[0].lower() not in own)
        text = app.format(body=text.rstrip("\n"))
    return text


def main():
    root, out, module, cert, key = (Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
    out.mkdir(parents=True, exist_ok=True)
    (out / "secret").write_text("a-secret-from-a-file-long-enough-for-a-state-key\n")
    n = 0
    for md in [root / "README.md"] + sorted((root / "docs").glob("*.md")):
        for line, text in blocks(md):
            n += 1
            (out / f"{n}.conf").write_text(adapt(text, out, module, cert, key))
            (out / f"{n}.where").write_text(f"{md.relative_to(root)}:{line}\n")
    for preset in sorted((root / "conf" / "providers").glob("*.conf")):
        n += 1
        (out / f"{n}.conf").write_text(adapt(preset.read_text(), out, module, cert, key))
        (out / f"{n}.where").write_text(f"{preset.relative_to(root)}:1\n")
    print(n)


if __name__ == "__main__":
    main()
