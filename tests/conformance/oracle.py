#!/usr/bin/env python3
"""Conformance oracle: BuildKit's own Dockerfile parser, via the PyPI package
`dockerfile` (3.4.0, which embeds github.com/moby/buildkit v0.12.5).

Usage:
    oracle.py FILE...         # paths as arguments
    oracle.py < paths.txt     # no arguments: one path per line on stdin

Prints ONE JSON object on stdout mapping each path (exactly as given) to
either

    {"instructions": [ {keyword, sub_keyword, start_line, end_line, flags,
                        json, args, heredocs: [{name, content}]}, ... ]}

or, when BuildKit's parser rejects the file,

    {"error": "<message of dockerfile.GoParseError>"}

This is the same schema as `crossdock parse --json FILE`.  Keywords are
upper-cased (the wrapper reports them as written).  The values are otherwise
exactly what the wrapper reports, including its ONBUILD quirk for flags (see
README.md): for ONBUILD, `flags` are the ONBUILD node's own flags. The
wrapper's other ONBUILD quirk, always-empty `heredocs`, is corrected here by
re-parsing the trigger's lines, because BuildKit itself keeps them.

Exit status: 0 on success (even if some files are rejected by the parser),
1 if a file cannot be read (GoIOError) or the `dockerfile` module is missing.
"""
import json
import re
import sys

try:
    import dockerfile
except ImportError as e:  # pragma: no cover - environment problem
    sys.stderr.write(
        "oracle.py: cannot import the `dockerfile` module (%s).\n"
        "Install it with: python3 -m pip install dockerfile==3.4.0\n" % e
    )
    sys.exit(1)


def _upper(s):
    return None if s is None else s.upper()


def instruction(cmd):
    return {
        "keyword": _upper(cmd.cmd),
        "sub_keyword": _upper(cmd.sub_cmd),
        "start_line": cmd.start_line,
        "end_line": cmd.end_line,
        "flags": list(cmd.flags),
        "json": bool(cmd.json),
        "args": list(cmd.value),
        "heredocs": [{"name": h.name, "content": h.content} for h in cmd.heredocs],
    }


_ONBUILD = re.compile(r"^\s*onbuild\s+", re.IGNORECASE)


def onbuild_heredocs(lines, cmd):
    """BuildKit attaches an ONBUILD trigger's heredocs to the ONBUILD node, but the
    wrapper reads them from the wrapped node, where they are always empty. Recover them
    by parsing the instruction's own lines without the ONBUILD keyword."""
    text = "".join(lines[cmd.start_line - 1:cmd.end_line])
    inner = dockerfile.parse_string(_ONBUILD.sub("", text, count=1))
    return [{"name": h.name, "content": h.content} for h in inner[0].heredocs]


def parse(path):
    try:
        cmds = dockerfile.parse_file(path)
    except dockerfile.GoParseError as e:
        return {"error": str(e)}
    out = [instruction(c) for c in cmds]
    if any(c.sub_cmd and "<<" in c.original for c in cmds):
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
            lines = f.read().split("\n")
        lines = [l + "\n" for l in lines[:-1]] + [lines[-1]]
        for c, o in zip(cmds, out):
            if c.sub_cmd and "<<" in c.original:
                o["heredocs"] = onbuild_heredocs(lines, c)
    return {"instructions": out}


def main(argv):
    paths = argv[1:]
    if not paths:
        paths = [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
    out = {}
    for path in paths:
        try:
            out[path] = parse(path)
        except dockerfile.GoIOError as e:
            sys.stderr.write("oracle.py: cannot read %s: %s\n" % (path, e))
            return 1
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
