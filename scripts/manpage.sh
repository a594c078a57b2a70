#!/usr/bin/env bash
# manpage.sh BINARY OUT: writes the gpubroker(1) man page from the binary's own --help texts
# (the top-level one and each command's), so the page and --help never disagree. Run by the
# build (broker/CMakeLists.txt); the page is installed by `cmake --install`.
set -euo pipefail
bin=$1
out=$2
version=$("$bin" --version | awk '{print $2}')
# groff: a line starting with . or ' is a request; a backslash is an escape
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
{
  printf '.TH GPUBROKER 1 "" "gpubroker %s" "User Commands"\n' "$version"
  printf '.SH NAME\ngpubroker \\- a self-hosted broker for GPU pods and fine-tuning jobs across providers\n'
  printf '.SH SYNOPSIS\n.B gpubroker\n.I COMMAND\n[options]\n'
  printf '.SH DESCRIPTION\n.nf\n'
  "$bin" --help | esc
  printf '.fi\n.SH COMMANDS\n'
  for cmd in $("$bin" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}'); do
    printf '.SS %s\n.nf\n' "$cmd"
    "$bin" "$cmd" --help 2>&1 | esc || true
    printf '.fi\n'
  done
  printf '.SH FILES\n.TP\n/etc/gpubroker/gpubroker.yaml\nthe configuration of the packaged service\n'
  printf '.TP\n/var/lib/gpubroker\nthe database, the master key and the first admin key of the service\n'
  printf '.SH SEE ALSO\nThe documentation in /usr/share/doc/gpubroker and the project'"'"'s docs/ folder.\n'
} > "$out.tmp"
mv "$out.tmp" "$out"
