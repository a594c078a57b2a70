#!/usr/bin/env python3
"""mutants.py: a mutation sweep of one source file (docs/testing.md, "Mutation sweeps").

Usage, from the repository's root with a configured build tree:
    scripts/mutants.py FILE TEST[,TEST...] [MAX]

Each mutant changes one line of FILE: a comparison, logical or arithmetic operator swapped
(< <=, > >=, == !=, && ||, + -), true/false swapped, a negation dropped, or a statement that
calls something deleted (not a NULL check after an allocation or a prepare, which only
fault injection reaches). Up to MAX mutants (default 20, a random sample: SEED in the
environment picks it), each built (`cmake --build $BUILD --target TEST...`, BUILD defaults to
`build`; the daemon too for an e2e_ test) and run ($BUILD/tests/TEST, SQLite only, 120 s
each). A mutant no test fails survives and is printed with its line. FILE is restored at the
end, also on Ctrl-C.

A survivor is a question, not a verdict: it may be equivalent (a bound no value reaches), an
error path only fault injection reaches, or a gap the tests should close. Run it in a worktree
of its own: the sweep rewrites FILE and rebuilds while it runs.
"""
import os
import random
import re
import subprocess
import sys

SUBS = [(r' < ', ' <= '), (r' <= ', ' < '), (r' > ', ' >= '), (r' >= ', ' > '),
        (r' == ', ' != '), (r' != ', ' == '), (r' && ', ' || '), (r' \|\| ', ' && '),
        (r' \+ ', ' - '), (r' - ', ' + '), (r'\btrue\b', 'false'), (r'\bfalse\b', 'true'),
        (r'!\s*\(', '(')]
DECLS = ('int ', 'char ', 'gb_', 'const ', 'static ', 'size_t', 'double', 'bool', 'return')


def mutants(lines):
    out = []
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith(('/*', '*', '//', '#', '_Static_assert')):
            continue
        code = line.split('/*')[0]
        for pat, rep in SUBS:
            for m in re.finditer(pat, code):
                out.append((i, line[:m.start()] + rep + line[m.end():], f"{pat} -> {rep}"))
        head = s.split('(')[0]
        # deleting a NULL check after an allocation or a prepare ("if (!q) return ...;") only
        # shows under fault injection: not sampled
        null_check = re.match(r'if \(!\w+\) return\b', s)
        if (s.endswith(';') and '(' in s and '=' not in head and not s.startswith(DECLS)
                and not null_check):
            out.append((i, re.match(r'\s*', line).group(0) + ';', 'delete'))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, tests = sys.argv[1], sys.argv[2].split(',')
    most = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    build = os.environ.get('BUILD', 'build')
    src = open(path).read()
    lines = src.split('\n')
    sample = mutants(lines)
    random.Random(int(os.environ.get('SEED', '1'))).shuffle(sample)
    sample = sample[:most]
    env = dict(os.environ, GB_SOURCE_DIR=os.getcwd(),
               GPUBROKER_BIN=os.path.join(os.getcwd(), build, 'broker', 'gpubroker'))
    # an e2e test runs the daemon: the mutant must be in the gpubroker it starts
    daemon = ['gpubroker'] if any(t.startswith('e2e_') for t in tests) else []
    make = ['cmake', '--build', build, '-j2', '--target'] + tests + daemon
    killed = broken = 0
    survived = []
    try:
        for i, new, what in sample:
            changed = lines[:]
            changed[i] = new
            open(path, 'w').write('\n'.join(changed))
            if subprocess.run(make, capture_output=True).returncode != 0:
                broken += 1
                continue
            dead = any(subprocess.run(['timeout', '120', os.path.join(build, 'tests', t)],
                                      capture_output=True, env=env).returncode != 0
                       for t in tests)
            if dead:
                killed += 1
            else:
                survived.append(i)
                print(f"SURVIVED {path}:{i + 1} [{what}] {lines[i].strip()}", flush=True)
    finally:
        open(path, 'w').write(src)
        subprocess.run(make, capture_output=True)
    print(f"{path}: {len(sample)} mutants, {killed} killed, {broken} did not build, "
          f"{len(survived)} survived")


if __name__ == '__main__':
    main()
