#!/usr/bin/env bash
# mutations_check.sh: every entry of scripts/mutations.txt still names code that exists: its
# file is there and holds the entry's original text ("\n" a line break), and the entry has its
# four or five fields. An entry whose code was rewritten would otherwise be reported only by
# the next on-demand scripts/mutate.sh run, as "original text not found", and guard nothing
# meanwhile. Run by ctest (lint.mutations). Prints each stale entry; exits 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."
awk -v FS='\n' '
  function slurp(path,   line, text, first) {
    text = ""; first = 1
    while ((getline line < path) > 0) { text = text (first ? "" : "\n") line; first = 0 }
    close(path)
    return text
  }
  /^#/ || /^[[:space:]]*$/ { next }
  {
    n = split($0, f, / @@ /)
    if (n < 4 || n > 5) { printf "BAD FIELDS  line %d: %s\n", NR, substr($0, 1, 80); bad++; next }
    orig = f[3]; gsub(/\\n/, "\n", orig)
    if (!(f[2] in files)) {
      ok = (getline dummy < f[2]) >= 0; close(f[2])
      files[f[2]] = ok ? slurp(f[2]) : "\001none"
    }
    if (files[f[2]] == "\001none") { printf "NO FILE     %s: %s\n", f[1], f[2]; bad++; next }
    if (index(files[f[2]], orig) == 0) { printf "STALE       %s: original text not in %s\n", f[1], f[2]; bad++ }
    names[f[1]]++
    if (names[f[1]] == 2) { printf "DUPLICATE   %s\n", f[1]; bad++ }
    total++
  }
  END { printf "mutations.txt: %d entries, %d stale or malformed\n", total, bad; exit bad > 0 }
' scripts/mutations.txt
