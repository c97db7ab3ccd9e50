#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Checks libnmrbpf's layering: which library file calls which.

Each file under user/lib/<layer>/ may call functions defined in its own layer or
in a layer below it (LAYERS, lowest first), and the graph of file calls has no
cycle. A call is a use of a name defined (with a body) in another file, found by
a tokenizer over the sources with comments and strings removed: no compiler
needed. -v prints every file's callees; --dot prints the graph for graphviz.
"""
import os
import re
import sys

LAYERS = ["base", "store", "bpf", "engine", "api", "live"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "user", "lib")

COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'')
DEF = re.compile(r"^[A-Za-z_][\w \t\*]*?\b([a-z_]\w*)\s*\([^;{]*?\)\s*\{", re.M)
IDENT = re.compile(r"\b([a-z_]\w*)\s*\(")


def sources():
    for layer in LAYERS:
        d = os.path.join(ROOT, layer)
        for f in sorted(os.listdir(d)):
            if f.endswith(".c"):
                yield layer, f"{layer}/{f}", os.path.join(d, f)


def main():
    files, defs, text = {}, {}, {}
    for layer, name, path in sources():
        s = STRING.sub('""', COMMENT.sub(" ", open(path).read()))
        files[name] = layer
        text[name] = s
        for m in DEF.finditer(s):
            if not m.group(0).lstrip().startswith("static"):
                defs.setdefault(m.group(1), name)
    edges = {f: {} for f in files}
    for f, s in text.items():
        for m in IDENT.finditer(s):
            g = defs.get(m.group(1))
            if g and g != f:
                edges[f].setdefault(g, set()).add(m.group(1))
    bad = []
    for f, out in edges.items():
        for g, fns in out.items():
            if LAYERS.index(files[g]) > LAYERS.index(files[f]):
                bad.append(f"{f} calls up into {g}: {', '.join(sorted(fns))}")
    # cycles: Tarjan's strongly connected components
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def strong(v, n=[0]):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            c = []
            while True:
                w = stack.pop()
                on.discard(w)
                c.append(w)
                if w == v:
                    break
            if len(c) > 1:
                cycles.append(sorted(c))

    sys.setrecursionlimit(10000)
    for v in files:
        if v not in index:
            strong(v)
    for c in cycles:
        bad.append("cycle: " + " <-> ".join(c))
    if "-v" in sys.argv:
        for f in files:
            print(f, "->", " ".join(sorted(edges[f])) or "-")
    if "--dot" in sys.argv:
        print("digraph libnmrbpf {\n  rankdir=BT;")
        for f, out in edges.items():
            for g in out:
                print(f'  "{f}" -> "{g}";')
        print("}")
    for b in bad:
        print("layers:", b, file=sys.stderr)
    if not bad and "-q" not in sys.argv:
        n = sum(len(o) for o in edges.values())
        print(f"layers: {len(files)} files, {n} calls between them, all downward, no cycle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
