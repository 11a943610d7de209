#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that libhakmem's files call each other one way only.

Reads the call graphs gcc writes with -fcallgraph-info (one .ci file per
source file), folds them into a graph of files (file A -> file B when a
function defined in A calls one defined in B) and fails, naming the files,
if that graph has a cycle.  Calls through function pointers (the backing
table, thread entry points, fork handlers) are not edges, as intended: the
layer below does not know whom it calls back.
"""
import os
import re
import sys

GRAPH = re.compile(r'graph: \{ title: "([^"]+)"')
NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*"( shape)?')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def read_graph(ci_files):
    defined = {}  # function title -> source file that defines it
    calls = []    # (caller title, callee title)
    for path in ci_files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        unit = os.path.basename(GRAPH.search(text).group(1))
        for title, external in NODE.findall(text):
            if not external:
                defined[title] = unit
        calls += EDGE.findall(text)
    graph = {}
    for caller, callee in calls:
        a, b = defined.get(caller), defined.get(callee)
        if a and b and a != b:
            graph.setdefault(a, set()).add(b)
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
        print("FAIL: files call each other in a cycle: " + " -> ".join(cycle))
        return 1
    print(f"ok: {len(graph)} files call downward only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
