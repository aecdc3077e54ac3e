#!/usr/bin/env bash
# Cloud TPU VM lifecycle for jaxrobust studies: create, set up, run, fan out, pull, delete.
#
#   launch/tpu_vm.sh create  NAME --zone=Z --type=v4-8 [--spot] [--queued] [--version=V]
#   launch/tpu_vm.sh setup   NAME --zone=Z            copy this checkout, install jaxrobust[tpu]
#   launch/tpu_vm.sh run     NAME --zone=Z -- ARGS... python -m jaxrobust.main ARGS on all workers
#   launch/tpu_vm.sh fanout  --zone=Z --config=C --workdir=gs://W NAME=GLOB [NAME=GLOB ...]
#                            one study slice (--only=GLOB) per VM, in parallel, waits for all
#   launch/tpu_vm.sh pull    NAME --zone=Z --from=REMOTE_DIR --to=LOCAL_DIR
#   launch/tpu_vm.sh delete  NAME --zone=Z
#
# A workdir on gs:// is shared by every VM, so results need no pulling; `pull` is for local
# workdirs on the VM. Every JAX process of a multi-host slice joins via jax.distributed (the
# TPU runtime provides the coordinator), and only process 0 writes.
set -euo pipefail

GCLOUD=${GCLOUD:-gcloud}
REMOTE_DIR=${REMOTE_DIR:-jaxrobust}
die() { echo "tpu_vm.sh: $*" >&2; exit 2; }

zone= type=v4-8 version=tpu-ubuntu2204-base spot= queued= config= workdir= from= to=
args=() rest=()
parse() {
  while (($#)); do
    case $1 in
      --zone=*) zone=${1#*=} ;;
      --type=*) type=${1#*=} ;;
      --version=*) version=${1#*=} ;;
      --spot) spot=1 ;;
      --queued) queued=1 ;;
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

tpu() { "$GCLOUD" compute tpus "$@"; }
ssh_all() { tpu tpu-vm ssh "$1" --zone="$zone" --worker=all --command="$2"; }

cmd=${1:-}; (($#)) && shift
parse "$@"
[[ -n $zone ]] || die "--zone is required"
name=${args[0]:-}

case $cmd in
  create)
    [[ -n $name ]] || die "create needs a VM name"
    if [[ -n $queued ]]; then
      tpu queued-resources create "$name" --zone="$zone" --node-id="$name" \
        --accelerator-type="$type" --runtime-version="$version" ${spot:+--spot}
    else
      tpu tpu-vm create "$name" --zone="$zone" --accelerator-type="$type" \
        --version="$version" ${spot:+--spot}
    fi ;;
  setup)
    [[ -n $name ]] || die "setup needs a VM name"
    src=$(cd "$(dirname "$0")/.." && pwd)
    tpu tpu-vm scp --recurse "$src" "$name:$REMOTE_DIR" --zone="$zone" --worker=all
    ssh_all "$name" "cd $REMOTE_DIR && python3 -m pip install -q -e '.[tpu]'" ;;
  run)
    [[ -n $name ]] || die "run needs a VM name"
    ((${#rest[@]})) || die "run needs arguments for jaxrobust.main after --"
    ssh_all "$name" "cd $REMOTE_DIR && python3 -m jaxrobust.main $(printf '%q ' "${rest[@]}")" ;;
  fanout)
    [[ -n $config && -n $workdir ]] || die "fanout needs --config and --workdir"
    ((${#args[@]})) || die "fanout needs NAME=GLOB pairs, one study slice per VM"
    pids=()
    for pair in "${args[@]}"; do
      [[ $pair == *=* ]] || die "fanout expects NAME=GLOB, got '$pair'"
      vm=${pair%%=*} glob=${pair#*=}
      ssh_all "$vm" "cd $REMOTE_DIR && python3 -m jaxrobust.main --config=$config --workdir=$workdir --only='$glob'" &
      pids+=($!)
    done
    status=0
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    exit $status ;;
  pull)
    [[ -n $name && -n $from && -n $to ]] || die "pull needs NAME --from=REMOTE_DIR --to=LOCAL_DIR"
    mkdir -p "$to"
    tpu tpu-vm scp --recurse "$name:$from" "$to" --zone="$zone" --worker=0 ;;
  delete)
    [[ -n $name ]] || die "delete needs a VM name"
    tpu tpu-vm delete "$name" --zone="$zone" --quiet ;;
  *) die "unknown command '${cmd}'; use create|setup|run|fanout|pull|delete" ;;
esac
