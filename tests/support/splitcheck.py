#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""splitcheck: checks that a commit splitting one C file into several moved
every function unchanged but for the renames its message lists.

    tests/support/splitcheck.py REV OLD_PATH NEW_PATH...

OLD_PATH is read as it was before REV (REV^), each NEW_PATH as it is at REV
(OLD_PATH again if the file kept its name). The renames are the "a -> b"
pairs of the paragraph of REV's message that starts with "Renames:".
Every function of the old file (the project's style: return type on its
own line, name at column 0, body closed by "}" at column 0; with the
comment right above it) must be in exactly one new file, with the same
comment and the same text once the renames are applied to the old one,
but for a "static " dropped from a function now shared; and the new files
define no other function. A unit test file split into several test
binaries has a main() in each: then every cmocka_unit_test line of the
old main() must be in exactly one new main(), in the same order, and no
other. A function moved into a header may read "static inline" where it
read "static". Exit 0 when so, 1 otherwise. The old file's
lines outside its functions that no new file holds (section separators,
forward declarations, a comment edited) are printed for a reader to judge.

Used for the splits of collector/ingest/ingest.c (3a504d7) and
shipper/docker.c (415cfa7), e.g.
    tests/support/splitcheck.py 415cfa7 shipper/docker.c shipper/docker.c \\
        shipper/docker_{meta,list,poll,look,inotify,lag}.c \\
        shipper/docker_internal.h
"""
import re
import subprocess
import sys

NAME = re.compile(r'^([a-z_][a-z0-9_]*)\(')


def git_show(rev, path):
    return subprocess.run(['git', 'show', '%s:%s' % (rev, path)],
                          check=True, capture_output=True,
                          text=True).stdout


def renames_of(rev):
    msg = subprocess.run(['git', 'log', '-1', '--format=%B', rev],
                         check=True, capture_output=True, text=True).stdout
    para = next((p for p in msg.split('\n\n') if p.startswith('Renames:')),
                '')
    return dict(re.findall(r'(\w+)\s*->\s*(\w+)', para))


def functions(text):
    """name -> (comment, definition, first line, last line)"""
    lines = text.split('\n')
    out = {}
    for i, line in enumerate(lines):
        m = NAME.match(line)
        if not m or i == 0 or lines[i - 1].strip() == '' or \
                lines[i - 1].startswith(('#', ' ', '/', '*', '}')):
            continue
        end = i
        while lines[end] != '}':
            end += 1
        first = i - 1
        if first > 0 and lines[first - 1].rstrip().endswith('*/'):
            first -= 1
            while not lines[first].startswith('/*'):
                first -= 1
        name = m.group(1)
        if name in out:
            sys.exit('splitcheck: %s defined twice' % name)
        out[name] = ('\n'.join(lines[first:i - 1]),
                     '\n'.join(lines[i - 1:end + 1]), first, end)
    return out


def unstatic(s):
    if s.startswith('static inline '):
        return s[len('static inline '):]
    return s[len('static '):] if s.startswith('static ') else s


# A registration: a line of the tests[] array (cmocka_unit_test..., or a
# macro of the file's such as T(name)), not a #define/#undef of it.
TEST = re.compile(r'^\s+(?:cmocka_unit_test\w*|[A-Z]\w*)\(.*$', re.M)


def joined(main):
    """A main's text with each registration on one line: one broken after
    its "(" (a long test name) would else read as just that "(", the same
    for every such registration."""
    return re.sub(r'\(\s*\n\s*', '(', main)


def check_tests(old_main, new_mains):
    """Problems (0 or 1) of a test split: the old main's tests, each in
    exactly one new main, in the same order, and no other."""
    old_main, new_mains = joined(old_main), [joined(m) for m in new_mains]
    want = TEST.findall(old_main)
    got = [t for m in new_mains for t in TEST.findall(m)]
    pos = {t: i for i, t in enumerate(want)}
    ordered = all(all(pos.get(a, -1) < pos.get(b, -1) for a, b in
                      zip(TEST.findall(m), TEST.findall(m)[1:]))
                  for m in new_mains)
    if sorted(want) != sorted(got) or not ordered:
        print('tests differ: %d in the old main, %d in the new ones%s'
              % (len(want), len(got), '' if ordered else ', reordered'))
        return 1
    print('tests: %d, each in one new main, same order' % len(want))
    return 0


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    rev, old_path, new_paths = argv[1], argv[2], argv[3:]
    renames = renames_of(rev)
    old_text = git_show(rev + '^', old_path)
    if renames:
        pat = re.compile(r'\b(' + '|'.join(map(re.escape, renames)) + r')\b')
        old_text = pat.sub(lambda m: renames[m.group(1)], old_text)
    old = functions(old_text)
    new, new_lines, mains = {}, set(), []
    for path in new_paths:
        text = git_show(rev, path)
        new_lines.update(l.strip() for l in text.split('\n'))
        for name, f in functions(text).items():
            if name == 'main' and 'main' in old:
                mains.append((path, f))
                continue
            if name in new:
                sys.exit('splitcheck: %s defined in %s and %s'
                         % (name, new[name][0], path))
            new[name] = (path, f)
    bad = 0
    if len(mains) > 1:
        bad += check_tests(old.pop('main')[1], [f[1] for _, f in mains])
    elif mains:
        new['main'] = mains[0]
    for name, (comment, body, _, _) in sorted(old.items()):
        if name not in new:
            print('missing: %s' % name)
            bad += 1
            continue
        path, (ncomment, nbody, _, _) = new[name]
        if unstatic(body) != unstatic(nbody):
            print('body differs: %s (%s)' % (name, path))
            bad += 1
        if comment != ncomment:
            print('comment differs: %s (%s)' % (name, path))
            bad += 1
    for name in sorted(set(new) - set(old)):
        print('new function: %s (%s)' % (name, new[name][0]))
        bad += 1
    inside = set()
    for _, _, first, last in old.values():
        inside.update(range(first, last + 1))
    for n, line in enumerate(old_text.split('\n')):
        if n not in inside and line.strip() and \
                line.strip() not in new_lines:
            print('dropped line %d: %s' % (n + 1, line))
    print('splitcheck %s: %d functions, %d renamed: %s'
          % (rev, len(old), len(renames),
             'same' if bad == 0 else '%d problems' % bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
