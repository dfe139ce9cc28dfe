#!/usr/bin/env python3
"""Draw the module import graph of the reseal crate and the keystore crate, and count cycles.

Usage: scripts/import-graph.py [--dot] [--depth N]

A node is a module path cut to --depth segments below the crate root (default 1 for
src/, i.e. `adapt`, `unwrap`, `smtp`...; stage-internal modules such as `reseal::smime`
are shown with --depth 2). An edge A -> B means a file of A names `crate::B` (in a `use`
or a path). The keystore crate is drawn the same way with the prefix `keystore::`.
Prints the edges, then every strongly connected component with more than one node
(a cycle), then every edge that runs against the layers of docs/architecture.md
("Layers: who may import whom"), and exits 1 if there is either.
"""
import os
import re
import sys

ROOTS = {"": "src", "keystore::": "keystore/src"}
PATH_RE = re.compile(r"\bcrate::([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)")
USE_GROUP_RE = re.compile(r"use\s+crate::\{([^;]*)\};", re.S)
SUPER_RE = re.compile(r"\bsuper::([a-z_][a-z0-9_]*)")


# docs/architecture.md, "Layers": an import may only go to the same layer or a lower one.
LAYERS = {
    "cli": 4, "smtp": 4, "milter": 4, "submission": 4, "listing": 4, "agent": 4,
    "bin": 4,
    "pipeline": 3,
    "unwrap": 2, "adapt": 2, "trace": 2, "capabilities": 2, "policy": 2, "reseal": 2,
    "record": 2, "discovery": 2, "dkim": 2,
    "config": 1, "envelope": 1, "pki": 1, "crypto": 1, "error": 1, "sanitize": 1,
    "mime": 1, "quarantine": 1,
}


def layer(node):
    if node.startswith("keystore::"):
        return 0
    return LAYERS.get(node.split("::")[0])


def module_of(rel):
    parts = rel[:-3].split("/")
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def cut(parts, depth):
    return "::".join(parts[:depth]) if parts else "(root)"


def all_modules():
    mods = set()
    for prefix, root in ROOTS.items():
        for dirpath, _, files in os.walk(root):
            for f in files:
                if f.endswith(".rs"):
                    me = module_of(os.path.relpath(os.path.join(dirpath, f), root))
                    if me:
                        mods.add((prefix, tuple(me)))
    return mods


def resolve(prefix, t, mods):
    """The longest prefix of path t that names a module of the crate."""
    for n in range(len(t), 0, -1):
        if (prefix, tuple(t[:n])) in mods:
            return list(t[:n])
    return None


def graph(depth):
    edges = set()
    nodes = set()
    mods = all_modules()
    for prefix, root in ROOTS.items():
        for dirpath, _, files in os.walk(root):
            for f in files:
                if not f.endswith(".rs"):
                    continue
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, root)
                me = module_of(rel)
                if not me:
                    continue  # lib.rs / main.rs: the crate root declares, it is not a stage
                src = prefix + cut(me, depth)
                nodes.add(src)
                text = strip_comments(open(full, encoding="utf-8").read())
                targets = [m.group(1).split("::") for m in PATH_RE.finditer(text)]
                for g in USE_GROUP_RE.finditer(text):
                    for item in re.split(r",(?![^{]*\})", g.group(1)):
                        item = item.strip()
                        if item:
                            targets.append(re.split(r"::|\s", item)[0:1])
                if len(me) > 1:
                    for m in SUPER_RE.finditer(text):
                        targets.append(me[:-1] + [m.group(1)])
                for t in targets:
                    t = resolve(prefix, t, mods) if t else None
                    if not t:
                        continue
                    dst = prefix + cut(t, depth)
                    if dst != src and (dst.split("::")[-1] not in ("self",)):
                        edges.add((src, dst))
    known = nodes
    edges = {(a, b) for a, b in edges if b in known}
    return nodes, edges


def sccs(nodes, edges):
    adj = {n: [] for n in nodes}
    for a, b in edges:
        adj[a].append(b)
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for n in sorted(nodes):
        if n not in index:
            visit(n)
    return out


def main():
    depth = 1
    if "--depth" in sys.argv:
        depth = int(sys.argv[sys.argv.index("--depth") + 1])
    nodes, edges = graph(depth)
    if "--dot" in sys.argv:
        print("digraph reseal {")
        for a, b in sorted(edges):
            print(f'  "{a}" -> "{b}";')
        print("}")
    else:
        for a, b in sorted(edges):
            print(f"{a} -> {b}")
    cycles = sccs(nodes, edges)
    unplaced = sorted({n for n in nodes if layer(n) is None})
    upward = sorted(
        (a, b) for a, b in edges
        if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)
    )
    print(
        f"# {len(nodes)} modules, {len(edges)} edges, {len(cycles)} cycle(s), "
        f"{len(upward)} upward import(s)",
        file=sys.stderr,
    )
    for c in cycles:
        print("# cycle: " + " <-> ".join(c), file=sys.stderr)
    for a, b in upward:
        print(f"# upward: {a} -> {b}", file=sys.stderr)
    for n in unplaced:
        print(f"# not in a layer (add it to LAYERS): {n}", file=sys.stderr)
    sys.exit(1 if cycles or upward or unplaced else 0)


if __name__ == "__main__":
    main()
