#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that libhakmem's files call and share data one way only.

Reads the call graphs gcc writes with -fcallgraph-info (one .ci file per
source file) and the symbol tables of the objects beside them (nm), folds
them into a graph of files (file A -> file B when a function defined in A
calls one defined in B, or when A uses a variable B defines) and fails,
naming the files and what links them, if that graph has a cycle.  Calls
through function pointers (the backing table, thread entry points, fork
handlers) are not edges, as intended: the layer below does not know whom
it calls back.
"""
import os
import re
import subprocess
import sys

GRAPH = re.compile(r'graph: \{ title: "([^"]+)"')
NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*"( shape)?')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


# nm's types of variables a file defines for others (not functions: T, W).
DATA_TYPES = set("BDRCGSV")


def add_edge(graph, a, b, why):
    if a and b and a != b:
        graph.setdefault(a, {}).setdefault(b, set()).add(why)


def read_symbols(obj):
    """The global variables @obj defines, and the symbols it uses."""
    out = subprocess.run(["nm", "-P", obj], check=True, capture_output=True,
                         text=True).stdout
    data, used = set(), set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        if fields[1] == "U":
            used.add(fields[0])
        elif fields[1] in DATA_TYPES:
            data.add(fields[0])
    return data, used


def read_graph(ci_files):
    defined = {}  # function title -> source file that defines it
    calls = []    # (caller title, callee title)
    variables = {}  # variable -> source file that defines it
    uses = []     # (source file, symbol it uses)
    for path in ci_files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        unit = os.path.basename(GRAPH.search(text).group(1))
        for title, external in NODE.findall(text):
            if not external:
                defined[title] = unit
        calls += EDGE.findall(text)
        data, used = read_symbols(path[:-len(".ci")] + ".o")
        for name in data:
            variables[name] = unit
        uses += [(unit, name) for name in used]
    graph = {}
    for caller, callee in calls:
        add_edge(graph, defined.get(caller), defined.get(callee), "calls")
    for unit, name in uses:
        add_edge(graph, unit, variables.get(name), name)
    return graph


def find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: check.py FILE.ci...")
    graph = read_graph(sys.argv[1:])
    for a in sorted(graph):
        print(f"{a} -> {' '.join(sorted(graph[a]))}")
    cycle = find_cycle(graph)
    if cycle:
        links = [f"{a} -> {b} ({', '.join(sorted(graph[a][b]))})"
                 for a, b in zip(cycle, cycle[1:])]
        print("FAIL: files reach each other in a cycle: " + "; ".join(links))
        return 1
    print(f"ok: {len(graph)} files call and share data downward only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
