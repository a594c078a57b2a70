#!/usr/bin/env bash
# demo.sh: README command 1. Installs missing packages, builds, starts `gpubroker sandbox`
# and walks through the account API with the CLI, then stops the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build >/dev/null
bin=$PWD/build/broker/gpubroker

work=$(mktemp -d /tmp/gpubroker-demo-XXXXXX)
trap 'kill "$pid" ${lpid:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
GPUBROKER_RECONCILER_INTERVAL_MS=1000 "$bin" sandbox --data-dir "$work/data" --sim-speed 30 \
  >"$work/out" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do grep -q '^GPUBROKER_ADMIN_API_KEY=' "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -q '^GPUBROKER_ADMIN_API_KEY=' "$work/out" || { cat "$work/log"; exit 1; }
echo "== gpubroker sandbox is up:"
sed 's/\(API_KEY=gpb_sk_....\).*/\1.../' "$work/out"
set -a; . "$work/out"; set +a

step() { echo; echo "== $*"; }
step "gpubroker account"; "$bin" account
step "gpubroker templates ls"; "$bin" templates ls
ssh-keygen -q -N '' -t ed25519 -C demo@gpubroker -f "$work/id_demo"
step "gpubroker ssh-keys add laptop --file id_demo.pub"; "$bin" ssh-keys add laptop --file "$work/id_demo.pub"
step "gpubroker creds add ghcr --registry ghcr.io --username demo  (password on stdin)"
echo "demo-registry-password" | "$bin" creds add ghcr --registry ghcr.io --username demo
cred=$("$bin" creds ls --json | sed -n 's/.*"id":"\(cred_[A-Za-z0-9]*\)".*/\1/p')
step "gpubroker templates create finetune --image ghcr.io/demo/finetune:latest --credential $cred --port 22"
"$bin" templates create finetune --image ghcr.io/demo/finetune:latest --credential "$cred" --port 22 --env HF_HOME=/workspace/hf
step "gpubroker keys create ci --scope pods --scope templates"; "$bin" keys create ci --scope pods --scope templates
step "gpubroker keys ls"; "$bin" keys ls
step "an error, as scripts see it: gpubroker templates rm tpl_pytorch21"
"$bin" templates rm tpl_pytorch21 || echo "(exit code $?)"
step "admin: gpubroker accounts ls"; GPUBROKER_API_KEY=$GPUBROKER_ADMIN_API_KEY "$bin" accounts ls
step "admin: gpubroker providers ls  (the sandbox registered a simulator of each platform)"
GPUBROKER_API_KEY=$GPUBROKER_ADMIN_API_KEY "$bin" providers ls
step "gpubroker machines  (live offers from every provider)"; "$bin" machines
key=$("$bin" ssh-keys ls --json | sed -n 's/.*"id":"\(key_[A-Za-z0-9]*\)".*/\1/p' | head -n 1)
pods=()
for p in volt lium targon runai primus datarobot; do
  m=$("$bin" machines --json | grep -o "\"id\":\"$p:[^\"]*\"" | head -n 1 | cut -d'"' -f4)
  keyopt=()   # SSH keys go to the marketplaces that take them (Targon takes key uids)
  case $p in volt|lium) keyopt=(--ssh-key "$key");; esac
  step "gpubroker pods create --machine $m --image pytorch/pytorch:latest --name demo-$p --wait"
  "$bin" pods create --machine "$m" --image pytorch/pytorch:latest --name "demo-$p" "${keyopt[@]}" --wait --timeout 120
  pods+=("$("$bin" pods ls --provider "$p" --json | sed -n 's/.*"id":"\(pod_[A-Za-z0-9]*\)".*/\1/p' | head -n 1)")
done
step "gpubroker pods ls"; "$bin" pods ls
step "gpubroker pods stop ${pods[0]}; gpubroker pods get ${pods[0]} --wait stopped"
"$bin" pods stop "${pods[0]}"; "$bin" pods get "${pods[0]}" --wait stopped --timeout 120
step "gpubroker pods events ${pods[0]}"; "$bin" pods events "${pods[0]}"
step "gpubroker pods logs ${pods[1]} --tail 5"; "$bin" pods logs "${pods[1]}" --tail 5
for id in "${pods[@]}"; do "$bin" pods rm "$id"; done
step "gpubroker offers --gpu H100:1 --max-price 3  (every provider's live offers, cheapest first)"
"$bin" offers --gpu H100:1 --max-price 3
step "gpubroker place --gpu H100:1 --max-price 3 --image pytorch/pytorch:latest --dry-run --hours 8  (the plan, nothing created)"
"$bin" place --gpu H100:1 --max-price 3 --image pytorch/pytorch:latest --ssh-key "$key" \
  --provider volt --provider lium --dry-run --hours 8
step "gpubroker place --gpu H100:1 --max-price 3 --image pytorch/pytorch:latest --provider volt --provider lium --wait"
"$bin" place --gpu H100:1 --max-price 3 --image pytorch/pytorch:latest --ssh-key "$key" \
  --provider volt --provider lium --name demo-placed --wait --timeout 120
placed=$("$bin" pods ls --json | sed -n 's/.*"id":"\(pod_[A-Za-z0-9]*\)","name":"demo-placed".*/\1/p')
[ -n "$placed" ] && "$bin" pods rm "$placed"
step "gpubroker webhooks listen  (a local receiver that verifies signatures) + webhooks add"
"$bin" webhooks listen --port 0 --secret "$("$bin" webhooks secret)" >"$work/hooks" 2>"$work/hooks.err" &
lpid=$!
for _ in $(seq 50); do grep -q '^LISTEN_URL=' "$work/hooks" 2>/dev/null && break; sleep 0.1; done
"$bin" webhooks add "$(sed -n 's/^LISTEN_URL=//p' "$work/hooks")/hook" --events 'fine_tuning.*,pod.running'
step "gpubroker jobs submit ... --wait  (a one-hour text fine-tune on a placed pod, simulated trainer)"
"$bin" jobs submit --name demo-finetune --task-type text --model Qwen/Qwen2.5-0.5B \
  --ds-repo myorg/support-qa --hours 1 --param fieldInstruction=instruction \
  --param fieldOutput=output --wait --timeout 300
step "gpubroker jobs ls"; "$bin" jobs ls
sleep 2
step "what the receiver verified (signed webhooks: the job's pod running, the job completed)"
grep -v '^LISTEN_URL=' "$work/hooks" || true
step "gpubroker webhooks deliveries"; "$bin" webhooks deliveries
step "gpubroker costs --by provider  (pod time metered per second, and the job, from the ledger)"
"$bin" costs --by provider
step "gpubroker ledger --limit 8"; "$bin" ledger --limit 8
step "gpubroker account  (\$18.50 paid for the job up front, plus the pods' metered time)"; "$bin" account
step "the registry password is sealed: it is not in the database file"
if grep -q demo-registry-password "$work"/data/gpubroker.db* ; then echo "FOUND (bug)"; exit 1; else echo "not found in $(ls "$work"/data | tr '\n' ' ')"; fi
step "the dashboard: $GPUBROKER_URL/ (sign in with the API key; docs/dashboard.md)"
curl -sS -D - -o /dev/null "$GPUBROKER_URL/" | grep -iE '^(HTTP|content-type|content-security-policy)' || { echo "no dashboard"; exit 1; }
echo; echo "== demo finished; stopping the sandbox"
