#!/usr/bin/env bash
# Cloud TPU VM lifecycle for jaxrobust: create, set up, run (detached), follow, fan out, pull,
# delete. Works for one TPU VM (v4-8, v5litepod-8, v6e-8, ...) and for multi-host pod slices
# (v4-32, v5litepod-16, ...): every command reaches all workers.
#
#   launch/tpu_vm.sh create NAME --zone=Z --type=T [--spot] [--queued] [--version=V] [--retries=N]
#       T: v4-*, v5litepod-* (v5e-*), v5p-* or v6e-*; the TPU software version follows from it
#       (tpu-ubuntu2204-base, v2-alpha-tpuv5-lite, v2-alpha-tpuv5, v2-alpha-tpuv6e) unless
#       --version names one. --queued requests a queued resource and waits until it is ACTIVE;
#       a FAILED or SUSPENDED request, or a failed create (no spot capacity), is deleted and
#       retried up to N times (default 3), POLL_S seconds apart.
#   launch/tpu_vm.sh setup NAME --zone=Z [--python=3.11]
#       this checkout as a tarball (no .git, venvs, workdirs, caches) unpacked into a fresh
#       ~/jaxrobust/releases/<time> on every worker, installed with jax[tpu] into a uv venv of
#       that Python (the image's own python3 is too old); the new release becomes the current one
#   launch/tpu_vm.sh run NAME --zone=Z [--watch --type=T [--spot] [--queued] [--retries=N]] -- ARGS
#       stops what runs on the TPUs (and a stale /tmp/libtpu_lockfile), then starts
#       `python -m jaxrobust.main ARGS` detached on all workers (it survives a dropped SSH
#       connection), logging to ~/jaxrobust/logs/ on each. --watch waits for it to end, and
#       recreates a preempted VM (same --type/--spot/--queued), sets it up and starts the run
#       again, at most N times: with a gs:// workdir the run resumes from its last checkpoint.
#   launch/tpu_vm.sh logs NAME --zone=Z [--lines=50]     the newest run's log tail, every worker
#   launch/tpu_vm.sh fanout --zone=Z --config=C --workdir=gs://W [--watch ...] NAME=GLOB ...
#       one study slice (--only=GLOB) per VM, all started detached; --watch waits for all
#   launch/tpu_vm.sh pull NAME --zone=Z --from=REMOTE_DIR --to=LOCAL_DIR
#   launch/tpu_vm.sh delete NAME --zone=Z [--queued]     --queued deletes the queued resource
#
# Every command takes --internal-ip (SSH to the workers' internal addresses, from a machine in
# their VPC). SSH never prompts. A workdir on gs:// is shared by every VM, so results need no
# pulling; `pull` is for local workdirs on worker 0. On a multi-host slice every worker runs
# the same command, joins jax.distributed (JAXROBUST_MULTIHOST=1), and only process 0 writes.
# GCLOUD names the gcloud binary (tests use a fake one).
set -euo pipefail

GCLOUD=${GCLOUD:-gcloud}
REMOTE_DIR=${REMOTE_DIR:-jaxrobust}  # on the workers, relative to the home directory
POLL_S=${POLL_S:-30}
# Not shipped: ./NAME only at the top of the checkout, NAME anywhere.
EXCLUDES=(./data ./build ./workdir ./venv .git .venv .pytest_cache __pycache__ '*.egg-info' '*.pyc')
die() { echo "tpu_vm.sh: $*" >&2; exit 2; }
say() { echo "tpu_vm.sh: $*" >&2; }

zone='' type='' version='' spot='' queued='' config='' workdir='' from='' to='' watch=''
internal_ip='' retries=3 python=3.11 lines=50
args=() rest=()
parse() {
  while (($#)); do
    case $1 in
      --zone=*) zone=${1#*=} ;;
      --type=*) type=${1#*=} ;;
      --version=*) version=${1#*=} ;;
      --spot) spot=1 ;;
      --queued) queued=1 ;;
      --retries=*) retries=${1#*=} ;;
      --watch) watch=1 ;;
      --python=*) python=${1#*=} ;;
      --lines=*) lines=${1#*=} ;;
      --internal-ip) internal_ip=1 ;;
      --config=*) config=${1#*=} ;;
      --workdir=*) workdir=${1#*=} ;;
      --from=*) from=${1#*=} ;;
      --to=*) to=${1#*=} ;;
      --) shift; rest=("$@"); return ;;
      --*) die "unknown option $1 (see the header of launch/tpu_vm.sh)" ;;
      *) args+=("$1") ;;
    esac
    shift
  done
}

software_version() {  # the TPU software version for an accelerator type
  case $1 in
    v4-*) echo tpu-ubuntu2204-base ;;
    v5litepod-* | v5e-*) echo v2-alpha-tpuv5-lite ;;
    v5p-*) echo v2-alpha-tpuv5 ;;
    v6e-*) echo v2-alpha-tpuv6e ;;
    *) die "--type=$1: no default software version; pass --version=V" ;;
  esac
}

tpu() { "$GCLOUD" compute tpus "$@"; }
ssh_all() { tpu tpu-vm ssh "$1" --worker=all "${ssh_opts[@]}" --command="$2" < /dev/null; }
scp_to() { tpu tpu-vm scp "$@" "${ssh_opts[@]}"; }
quote() { local q; printf -v q '%q ' "$@"; echo "${q% }"; }  # one command line, each word quoted
worker() { quote bash "$REMOTE_DIR/current/launch/tpu_worker.sh" "$REMOTE_DIR" "$@"; }

create() {
  local attempt state
  for ((attempt = 0; ; attempt++)); do
    if [[ -n $queued ]]; then
      tpu queued-resources create "$name" --zone="$zone" --node-id="$name" \
        --accelerator-type="$type" --runtime-version="$version" ${spot:+--spot} --quiet
      while :; do
        state=$(tpu queued-resources describe "$name" --zone="$zone" \
                  --format='value(state.state)') || state='unknown (describe failed)'
        case $state in
          ACTIVE) return 0 ;;
          FAILED | SUSPENDED) break ;;
          *) say "$name: queued resource $state"; sleep "$POLL_S" ;;
        esac
      done
      tpu queued-resources delete "$name" --zone="$zone" --force --quiet
    else
      tpu tpu-vm create "$name" --zone="$zone" --accelerator-type="$type" \
        --version="$version" ${spot:+--spot} --quiet && return 0
    fi
    ((attempt < retries)) || die "$name: not created after $((retries + 1)) tries"
    say "$name: not created; trying again in ${POLL_S}s"
    sleep "$POLL_S"
  done
}

delete() {
  if [[ -n $queued ]]; then
    tpu queued-resources delete "$name" --zone="$zone" --force --quiet
  else
    tpu tpu-vm delete "$name" --zone="$zone" --quiet
  fi
}

setup() {
  local src release
  src=$(cd "$(dirname "$0")/.." && pwd)
  release=$(date -u +%Y%m%d-%H%M%S)
  tar -czf "$tmp_dir/jaxrobust-$release.tgz" "${EXCLUDES[@]/#/--exclude=}" -C "$src" .
  scp_to "$tmp_dir/jaxrobust-$release.tgz" "$name:" --worker=all
  ssh_all "$name" "$(quote mkdir -p "$REMOTE_DIR/releases/$release") && \
$(quote tar -xzf "jaxrobust-$release.tgz" -C "$REMOTE_DIR/releases/$release") && \
$(quote rm "jaxrobust-$release.tgz") && \
$(quote bash "$REMOTE_DIR/releases/$release/launch/tpu_worker.sh" "$REMOTE_DIR" setup \
  "$release" "$python")"
}

start() {  # starts rest=(ARGS) detached on every worker of $name, as run $run_id
  run_id=$(date -u +%Y%m%d-%H%M%S)
  ssh_all "$name" "$(worker start "$run_id" "${rest[@]}")"
  say "$name: run $run_id started; follow it with: launch/tpu_vm.sh logs $name --zone=$zone"
}

preempted() {  # whether the VM (or its queued resource) was preempted; unknown counts as not
  local state
  if [[ -n $queued ]]; then
    state=$(tpu queued-resources describe "$name" --zone="$zone" \
              --format='value(state.state)') || return 1
    [[ $state == SUSPENDED || $state == FAILED ]]
  else
    state=$(tpu tpu-vm describe "$name" --zone="$zone" --format='value(state)') || return 1
    [[ $state == PREEMPTED || $state == TERMINATED ]]
  fi
}

watch_run() {  # waits for run $run_id on $name; recreates, sets up and restarts a preempted VM
  local restarts=0 report
  while sleep "$POLL_S"; do
    if preempted; then
      ((restarts < retries)) || die "$name: preempted $((restarts + 1)) times; giving up"
      restarts=$((restarts + 1))
      say "$name: preempted; recreating it (restart $restarts of $retries)"
      delete
      create
      setup
      start
      continue
    fi
    report=$(ssh_all "$name" "$(worker status "$run_id")") || continue  # unreachable: ask again
    if grep -Eq ' exit ([1-9][0-9]*|lost)$' <<< "$report"; then
      sleep "$POLL_S"  # a preempted VM's processes may end before its state says so
      preempted && continue
      say "$name: run $run_id failed:"$'\n'"$report"
      return 1
    fi
    grep -q ' running$' <<< "$report" || { say "$name: run $run_id finished"; return 0; }
  done
}

study_slice() {  # study_slice VM GLOB: the study's runs matching GLOB, on VM
  local name=$1 rest=(--config="$config" --workdir="$workdir" --only="$2")
  start
  [[ -z $watch ]] || watch_run
}

need_type() {
  [[ -n $type ]] || die "$1 needs --type (e.g. --type=v4-8)"
  [[ -n $version ]] || version=$(software_version "$type")
}

cmd=${1:-}
(($#)) && shift
parse "$@"
[[ -n $zone ]] || die "--zone is required"
name=${args[0]:-}
ssh_opts=(--zone="$zone" --quiet --strict-host-key-checking=no ${internal_ip:+--internal-ip})
tmp_dir=$(mktemp -d)
trap 'rm -rf "$tmp_dir"' EXIT

case $cmd in
  create)
    [[ -n $name ]] || die "create needs a VM name"
    need_type create
    create ;;
  setup)
    [[ -n $name ]] || die "setup needs a VM name"
    setup ;;
  run)
    [[ -n $name ]] || die "run needs a VM name"
    ((${#rest[@]})) || die "run needs arguments for jaxrobust.main after --"
    [[ -z $watch ]] || need_type "run --watch"
    start
    [[ -z $watch ]] || watch_run ;;
  logs)
    [[ -n $name ]] || die "logs needs a VM name"
    ssh_all "$name" "$(worker logs "$lines")" ;;
  fanout)
    [[ -n $config && -n $workdir ]] || die "fanout needs --config and --workdir"
    ((${#args[@]})) || die "fanout needs NAME=GLOB pairs, one study slice per VM"
    [[ -z $watch ]] || need_type "fanout --watch"
    pids=()
    for pair in "${args[@]}"; do
      [[ $pair == *=* ]] || die "fanout expects NAME=GLOB, got '$pair'"
    done
    for pair in "${args[@]}"; do
      study_slice "${pair%%=*}" "${pair#*=}" &
      pids+=($!)
    done
    status=0
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    exit $status ;;
  pull)
    [[ -n $name && -n $from && -n $to ]] || die "pull needs NAME --from=REMOTE_DIR --to=LOCAL_DIR"
    mkdir -p "$to"
    scp_to --recurse "$name:$from" "$to" --worker=0 ;;
  delete)
    [[ -n $name ]] || die "delete needs a VM name"
    delete ;;
  *) die "unknown command '${cmd}'; use create|setup|run|logs|fanout|pull|delete" ;;
esac
