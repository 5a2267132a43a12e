#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The hypervisor's files form layers: no include cycle between them.

usage: tests/check-includes.py [ROOT]

A file's unit is its path without the extension (arch/x86/exit/cr.c and
arch/x86/exit/cr.h are one unit, "cr"); unit A depends on unit B when a
file of A includes a file of B ('#include "..."', NASM's '%include').
Each unit's header declares what its .c defines, so the include graph is
the call graph between files.  Every cycle found is printed, with one
FAIL line; none gives one PASS line.  Then "N passed, N failed".
"""

import os
import re
import sys

from checks import result, summary

DIRS = ('boot', 'arch', 'core', 'shell', 'svm', 'vmx', 'mmu', 'drivers',
        'lib', 'include')
EXTS = ('.c', '.h', '.asm', '.inc')
INCLUDE = re.compile(r'^\s*(?:#\s*include|%include)\s+"([^"]+)"', re.M)
SEARCH = ('', 'include')		# -I. -Iinclude


def hypervisor_files(root):
    for top in DIRS:
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if n.endswith(EXTS):
                    yield os.path.relpath(os.path.join(d, n), root)


def resolve(root, src, name):
    for base in (os.path.dirname(src),) + SEARCH:
        p = os.path.normpath(os.path.join(base, name))
        if os.path.exists(os.path.join(root, p)):
            return p
    return None


def unit(path):
    return os.path.splitext(path)[0]


def graph(root):
    edges = {}
    for f in hypervisor_files(root):
        with open(os.path.join(root, f), errors='replace') as fh:
            text = fh.read()
        deps = edges.setdefault(unit(f), set())
        for name in INCLUDE.findall(text):
            p = resolve(root, f, name)
            if p and unit(p) != unit(f):
                deps.add(unit(p))
    return edges


def cycles(edges):
    """Tarjan's strongly connected components of more than one unit."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
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
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    edges = graph(root)
    found = cycles(edges)
    for comp in found:
        members = set(comp)
        print('cycle: ' + ', '.join(comp))
        for v in comp:
            for w in sorted(edges[v] & members):
                print('  %s -> %s' % (v, w))
    result(not found, 'no include cycle between %d hypervisor units'
           % len(edges), '%d cycles' % len(found))
    return summary()


if __name__ == '__main__':
    sys.exit(main())
