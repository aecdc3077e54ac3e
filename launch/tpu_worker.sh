#!/usr/bin/env bash
# What launch/tpu_vm.sh runs on every worker of a Cloud TPU VM (it ships in the code tarball).
#
#   tpu_worker.sh ROOT setup RELEASE PYTHON   ROOT/releases/RELEASE becomes ROOT/current, installed
#                                             (editable, with jax[tpu]) into the uv venv
#                                             ROOT/venv-PYTHON
#   tpu_worker.sh ROOT start RUN_ID ARGS...   stops the previous run, then starts
#                                             `python -m jaxrobust.main ARGS` detached (setsid,
#                                             nohup): output in ROOT/logs/RUN_ID.log, its exit
#                                             status in ROOT/logs/RUN_ID.exit
#   tpu_worker.sh ROOT status RUN_ID          "<host> running", "<host> exit <status>", or
#                                             "<host> exit lost" (killed without a status)
#   tpu_worker.sh ROOT logs LINES             the newest run's last LINES lines, "<host>: " first
#   tpu_worker.sh ROOT stop                   ends the current run and anything else holding the
#                                             TPU, removes the libtpu lock file
#
# ROOT is relative to the home directory (where SSH commands start) or absolute. The venv's
# Python comes from uv (installed with pip --user, or uv's installer, when missing), so the
# image's own Python version does not matter. Every run gets JAXROBUST_MULTIHOST=1: each worker
# of a slice joins jax.distributed, which finds the others through the TPU metadata server.
set -euo pipefail

SUDO=${SUDO:-sudo}
KEEP_RELEASES=3
STOP_WAIT_S=30  # a run checkpoints on SIGTERM before it exits

root=$1 cmd=$2
shift 2
mkdir -p "$root/logs"
root=$(cd "$root" && pwd)

stop() {
  if [[ -f $root/run.pid ]] && kill -0 "$(cat "$root/run.pid")" 2>/dev/null; then
    kill -TERM -- "-$(cat "$root/run.pid")" 2>/dev/null || true
    for ((waited = 0; waited < STOP_WAIT_S; waited++)); do
      kill -0 "$(cat "$root/run.pid")" 2>/dev/null || break
      sleep 1
    done
  fi
  rm -f "$root/run.pid"
  # Whatever still holds a TPU device (v4/v5p: /dev/accel*, v5e/v6e: /dev/vfio/N).
  local devices holders=
  devices=$(compgen -G '/dev/accel*'; compgen -G '/dev/vfio/[0-9]*') || true
  # shellcheck disable=SC2086  # one device per word
  [[ -z $devices ]] || holders=$("$SUDO" lsof -t $devices 2>/dev/null || true)
  if [[ -n $holders ]]; then
    echo "$(hostname): killing stale TPU processes ${holders//$'\n'/ }" >&2
    # shellcheck disable=SC2086  # one pid per word
    "$SUDO" kill -9 $holders || true
  fi
  "$SUDO" rm -f /tmp/libtpu_lockfile
}

case $cmd in
  setup)
    release=$1 python=$2
    export PATH=$HOME/.local/bin:$PATH
    command -v uv >/dev/null || python3 -m pip install -q --user 'uv>=0.5' \
      || curl -LsSf https://astral.sh/uv/install.sh | sh
    venv=$root/venv-$python
    [[ -x $venv/bin/python ]] || uv venv -q --python "$python" "$venv"
    uv pip install -q --python "$venv/bin/python" -e "$root/releases/${release}[tpu]"
    ln -sfn "releases/$release" "$root/current"
    ln -sfn "venv-$python" "$root/venv"
    # The newest releases stay (the current one among them), older ones go.
    find "$root/releases" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -r \
      | tail -n +$((KEEP_RELEASES + 1)) \
      | while read -r old; do rm -rf "${root:?}/releases/$old"; done
    echo "$(hostname): $("$venv/bin/python" --version) in $venv, code $release" ;;
  start)
    run_id=$1
    shift
    stop
    cd "$root/current"
    # Its own process group (setsid), no terminal (nohup): the run outlives the SSH connection.
    # shellcheck disable=SC2016  # expanded by the inner bash
    JAXROBUST_MULTIHOST=1 setsid nohup bash -c '"${@:2}"; echo $? > "$1"' _ \
      "$root/logs/$run_id.exit" "$root/venv/bin/python" -m jaxrobust.main "$@" \
      > "$root/logs/$run_id.log" 2>&1 < /dev/null &
    echo $! > "$root/run.pid"
    ln -sfn "$run_id.log" "$root/logs/latest.log"
    echo "$(hostname): started $run_id (log $root/logs/$run_id.log)" ;;
  status)  # a run that left no exit status (killed) and no process counts as failed
    if [[ -f $root/logs/$1.exit ]]; then
      echo "$(hostname) exit $(cat "$root/logs/$1.exit")"
    elif [[ -f $root/run.pid ]] && kill -0 "$(cat "$root/run.pid")" 2>/dev/null; then
      echo "$(hostname) running"
    else
      echo "$(hostname) exit lost"
    fi ;;
  logs)
    tail -n "$1" "$root/logs/latest.log" | sed "s/^/$(hostname): /" ;;
  stop)
    stop ;;
  *)
    echo "tpu_worker.sh: unknown command '$cmd'; use setup|start|status|logs|stop" >&2
    exit 2 ;;
esac
