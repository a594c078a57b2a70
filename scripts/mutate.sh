#!/usr/bin/env bash
# mutate.sh: on-demand mutation check of the code that guards money, secrets and the network.
# Each entry of scripts/mutations.txt is one deliberate one-line bug; each is applied alone to
# a copy of the tree, which is rebuilt and tested; a mutation the tests do not catch
# "survives". Prints one line per mutation, then the survivors; exits 1 if any survived.
# Usage: scripts/mutate.sh [NAME_REGEX]      (work directory: build-mutate/; a name matches
#        when the regex is found in it, so a plain prefix such as meter- still works)
# Not part of CI: it builds and tests once per mutation. Needs python3.
# Entries named tsan-... are races (a lock deleted): only a ThreadSanitizer build sees them
# reliably, so a plain run skips them and GB_MUTATE_TSAN=1 runs only them, on a TSan build
# (build-mutate-tsan/), where a race report fails the test (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tsan=${GB_MUTATE_TSAN:-0}
work="$root/build-mutate"
flags=()
if [ "$tsan" = 1 ]; then
  work="$root/build-mutate-tsan"
  flags=(-DGPUBROKER_TSAN=ON -DGPUBROKER_BENCH=OFF)
  export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
  # as scripts/tsan.sh: no address randomization, which GCC 12's TSan may not map around
  if setarch "$(uname -m)" -R true 2>/dev/null; then
    export GB_MUTATE_PREFIX="setarch $(uname -m) -R"
  fi
fi
tree="$work/tree"
command -v python3 >/dev/null || { echo "mutate.sh needs python3" >&2; exit 2; }
rm -rf "$tree"
mkdir -p "$tree"
# a copy of the tracked files as they are now, so the checkout itself is never modified
git ls-files -z | xargs -0 tar cf - | (cd "$tree" && tar xf -)
cmake -S "$tree" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${flags[@]}" >/dev/null
cmake --build "$work/build" -j"$(nproc)" >/dev/null
exec python3 - "$tree" "$work/build" "$root/scripts/mutations.txt" "${1:-}" "$tsan" <<'PY'
import os, re, subprocess, sys
tree, build, listing, flt, tsan = sys.argv[1:6]
jobs = str(os.cpu_count() or 2)
total, survivors = 0, []
for raw in open(listing):
    line = raw.rstrip("\n")
    if not line.strip() or line.startswith("#"):
        continue
    # name @@ file @@ original @@ mutated [@@ ctest -R regex]; "\n" stands for a line break
    parts = [p.replace("\\n", "\n") for p in line.split(" @@ ")]
    name, path, orig, mut = parts[:4]
    regex = parts[4] if len(parts) > 4 else ""
    if flt and not re.search(flt, name):
        continue
    if name.startswith("tsan-") != (tsan == "1"):
        continue
    total += 1
    target = os.path.join(tree, path)
    text = open(target).read()
    if orig not in text:
        print(f"MISSING   {name}: original text not found in {path}", flush=True)
        survivors.append(name + " (original text not found)")
        continue
    open(target, "w").write(text.replace(orig, mut, 1))
    try:
        b = subprocess.run(["cmake", "--build", build, "-j" + jobs], capture_output=True)
        if b.returncode != 0:
            result = "KILLED    (does not build)"
        else:
            cmd = os.environ.get("GB_MUTATE_PREFIX", "").split() + \
                ["ctest", "-j2", "--timeout", "300"] + (["-R", regex] if regex else [])
            t = subprocess.run(cmd, cwd=build, capture_output=True, text=True)
            result = "SURVIVED " if t.returncode == 0 else "KILLED   "
            if t.returncode != 0:
                failed = [l.split("-", 1)[1].strip() for l in t.stdout.splitlines()
                          if l.strip().startswith(tuple("0123456789")) and " - " in l]
                result += " by " + ", ".join(failed[:3])
    finally:
        open(target, "w").write(text)
        os.utime(target)
    print(f"{result}  {name}", flush=True)
    if result.startswith("SURVIVED"):
        survivors.append(name)
subprocess.run(["cmake", "--build", build, "-j" + jobs], capture_output=True)
print(f"mutations: {total}, killed: {total - len(survivors)}, survived: {len(survivors)}")
for s in survivors:
    print("  survivor:", s)
sys.exit(1 if survivors else 0)
PY
