"""Fake cluster binaries for the launch scripts: each records its calls, none reaches a cloud."""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
RECORDER = '#!/usr/bin/env bash\necho "$(basename "$0") $*" >> "$FAKE_LOG"\n'

# gcloud: records the call. `describe`, `create` and `ssh` answer with the next line of
# $FAKE_DIR/<group>-<verb> when there is one ("fail": exit 1; ";" separates output lines),
# else describe says the TPU is up. With $FAKE_HOME, that directory plays one TPU VM worker:
# scp to NAME: copies there, ssh runs its command there.
FAKE_GCLOUD = r'''#!/usr/bin/env bash
echo "gcloud $*" >> "$FAKE_LOG"
replies="$FAKE_DIR/$3-$4"
if [[ -s $replies ]]; then
  reply=$(head -n 1 "$replies")
  sed -i 1d "$replies"
  [[ $reply == fail ]] && exit 1
  printf '%s\n' "${reply//;/$'\n'}"
  exit 0
fi
case $3-$4 in
  queued-resources-describe) echo ACTIVE ;;
  tpu-vm-describe) echo READY ;;
  tpu-vm-scp) [[ -z ${FAKE_HOME:-} || $6 != *: ]] || cp "$5" "$FAKE_HOME/" ;;
  tpu-vm-ssh)
    for arg; do
      if [[ -n ${FAKE_HOME:-} && $arg == --command=* ]]; then
        cd "$FAKE_HOME" && HOME=$FAKE_HOME exec bash -c "${arg#--command=}"
      fi
    done ;;
esac
'''
# uv on the simulated worker: `uv venv DIR` makes DIR/bin/python, the fake Python below.
FAKE_UV = r'''#!/usr/bin/env bash
echo "uv $*" >> "$FAKE_LOG"
if [[ $1 == venv ]]; then mkdir -p "${!#}/bin" && cp "$FAKE_PYTHON" "${!#}/bin/python"; fi
'''
# Python in the worker's venv: records its arguments (one per line), environment and directory.
FAKE_PYTHON = r'''#!/usr/bin/env bash
[[ $1 == --version ]] && { echo "Python 3.11.9"; exit 0; }
{ echo "python JAXROBUST_MULTIHOST=${JAXROBUST_MULTIHOST:-} cwd=$PWD pid=$$"; printf 'arg %s\n' "$@"; } >> "$FAKE_LOG"
echo "training step 1"
[[ -z ${FAKE_SLEEP:-} ]] || sleep "$FAKE_SLEEP"
exit "${FAKE_EXIT:-0}"
'''


def write_executable(path: pathlib.Path, text: str) -> str:
  """Writes an executable script; returns its path."""
  path.write_text(text)
  path.chmod(0o755)
  return str(path)


def reply(env: dict[str, str], call: str, *lines: str) -> None:
  """Makes the fake gcloud answer its next `call` calls ('tpu-vm-ssh', ...) with `lines`."""
  with open(os.path.join(env['FAKE_DIR'], call), 'a') as f:
    f.writelines(line + '\n' for line in lines)


def run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
  """bash launch/<script> ARGS with `env`."""
  return subprocess.run(['bash', str(ROOT / 'launch' / script), *args], env=env,
                        capture_output=True, text=True, check=False, timeout=120)
