#!/usr/bin/env python3
"""gen.py - one shell completion from mtlskit.table and its shell's logic.

    gen.py bash|zsh TABLE TEMPLATE OUTPUT

The template is the completion function (complete.bash, complete.zsh); its
line "# @TABLES@" is replaced by the table's data as that shell's variables:
_mtlskit_verbs, _mtlskit_common, _mtlskit_flags, and the associative arrays
_mtlskit_opts (command -> options), _mtlskit_subs (verb -> sub-commands),
_mtlskit_values ("option" or "command option" -> words) and _mtlskit_kind
(option -> dir | pass | text).  A table naming an option no command has, or
an unknown kind, stops the build.
"""
import sys

MARK = "# @TABLES@"
KINDS = {"dirs": "dir", "passes": "pass", "text": "text"}


def fail(path, n, msg):
    sys.exit(f"{path}:{n}: {msg}")


def split_command(words):
    """["ca", "sign", "--profile", "a"] -> ("ca sign", ["--profile", "a"])"""
    i = 0
    while i < len(words) and not words[i].startswith("-"):
        i += 1
    return " ".join(words[:i]), words[i:]


def read_table(path):
    t = {"verbs": [], "subs": {}, "opts": {}, "common": [], "flags": [],
         "lists": {}, "values": {}, "kind": {}}
    later = []  # (line, option) checked once every command is known
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            rec, args = words[0], words[1:]
            if rec == "verb" and len(args) >= 2:
                t["verbs"].append((args[0], " ".join(args[1:])))
            elif rec == "subs" and len(args) >= 2:
                t["subs"][args[0]] = args[1:]
            elif rec == "opts" and args:
                cmd, opts = split_command(args)
                if not cmd:
                    fail(path, n, "opts without a command")
                t["opts"][cmd] = opts
            elif rec in ("common", "flags"):
                t[rec] = args
            elif rec == "list" and len(args) >= 2:
                t["lists"][args[0]] = args[1:]
            elif rec == "values":
                cmd, rest = split_command(args)
                if len(rest) < 2:
                    fail(path, n, "values needs an option and words")
                out = []
                for w in rest[1:]:
                    if w.startswith("@"):
                        if w[1:] not in t["lists"]:
                            fail(path, n, f"no list {w[1:]}")
                        out += t["lists"][w[1:]]
                    else:
                        out.append(w)
                key = f"{cmd} {rest[0]}" if cmd else rest[0]
                t["values"][key] = out
                later.append((n, rest[0], cmd))
            elif rec in KINDS:
                for o in args:
                    t["kind"][o] = KINDS[rec]
                    later.append((n, o, ""))
            else:
                fail(path, n, f"unknown record '{rec}'")
    verbs = {v for v, _ in t["verbs"]}
    for cmd in t["opts"]:
        if cmd.split()[0] not in verbs:
            fail(path, 0, f"opts for '{cmd}': no such verb")
    known = set(t["common"]).union(*t["opts"].values())
    for n, opt, cmd in later:
        if cmd and cmd not in t["opts"]:
            fail(path, n, f"'{cmd}' has no opts line")
        if opt not in known:
            fail(path, n, f"{opt}: no command has this option")
        if opt in t["kind"] and any(k.split()[-1] == opt for k in t["values"]):
            fail(path, n, f"{opt}: both values and a kind")
    return t


def sq(s):
    return "'" + s.replace("'", "'\\''") + "'"


def arrays(t, shell):
    """opts, subs, values, kind as that shell's associative arrays"""
    out = []
    for name in ("opts", "subs", "values", "kind"):
        if shell == "bash":
            out.append(f"declare -gA _mtlskit_{name}=(")
        else:
            out.append(f"_mtlskit_{name}=(")
        row = "\t[{}]={}" if shell == "bash" else "\t{} {}"
        for k, v in t[name].items():
            out.append(row.format(sq(k), sq(v if isinstance(v, str) else " ".join(v))))
        out.append(")")
    return out


def tables(t, shell):
    common = sq(" ".join(t["common"]))
    flags = sq(" " + " ".join(t["flags"]) + " ")
    if shell == "bash":
        return ["_mtlskit_verbs=" + sq(" ".join(v for v, _ in t["verbs"])),
                "_mtlskit_common=" + common, "_mtlskit_flags=" + flags] + arrays(t, shell)
    return (["typeset -gA _mtlskit_opts _mtlskit_subs _mtlskit_values _mtlskit_kind"] +
            arrays(t, shell) +
            ["typeset -ga _mtlskit_verbs", "_mtlskit_verbs=("] +
            [f"\t{sq(v + ':' + d)}" for v, d in t["verbs"]] +
            [")", "typeset -g _mtlskit_common=" + common, "typeset -g _mtlskit_flags=" + flags])


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("bash", "zsh"):
        sys.exit("usage: " + __doc__.strip().splitlines()[2].strip())
    shell, table, template, output = sys.argv[1:]
    t = read_table(table)
    with open(template, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines.count(MARK) != 1:
        sys.exit(f"{template}: needs one line '{MARK}'")
    i = lines.index(MARK)
    head = [f"# Tables generated from {table.rsplit('/', 1)[-1]} by gen.py: edit the table."]
    text = "\n".join(lines[:i] + head + tables(t, shell) + lines[i + 1:])
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
