#!/usr/bin/env bash
# The accelerator figures of the README's performance table, on one GPU/TPU machine:
#   launch/accelerator_bench.sh PEAK_TFLOPS_PER_CHIP [OUT_DIR]
# PEAK_TFLOPS_PER_CHIP: the chip's stated dense bf16 peak (e.g. 989 for an H100 SXM, 197 for a
# TPU v5e); the train-step MFU is measured against it times the number of chips.
# Records, each as OUT_DIR/<name>.txt (the table) and OUT_DIR/<name>.json (its figures):
#   train     ResNet-18 and ResNet-50, bf16, 224 px: train-step images/s and MFU
#             (flop_utilization_ratio), on a device batch and fed by the grain pipeline with
#             one worker per host core; the rows are also added to the step-time table the
#             study's --dry_run reads (OUT_DIR/step_times.json: copy its rows into
#             jaxrobust/study/step_times.json to ship them);
#   input     decode + random-resized-crop + flip against tf.data, 1..all host cores;
#   fractals  the FractalDB renderer at the official 362 px / 200k points, large batches.
set -euo pipefail
peak=${1:?usage: launch/accelerator_bench.sh PEAK_TFLOPS_PER_CHIP [OUT_DIR]}
out=${2:-accelerator_bench}
python=${PYTHON:-python3}
mkdir -p "$out"
chips=$("$python" -c 'import jax; print(jax.device_count())')
cores=$(nproc)
total_peak=$("$python" -c "print($peak * $chips)")

bench() {  # bench NAME ARGS...: the table to NAME.txt, its last (JSON) line to NAME.json
  local name=$1
  shift
  "$python" -m jaxrobust.bench "$name" --json "$@" | tee "$out/$name.txt"
  tail -n 1 "$out/$name.txt" > "$out/$name.json"
}

bench train --archs=resnet18,resnet50 --resolutions=224 --dtype=bfloat16 \
  --batch_per_device=256 --steps=30 --num_workers="$cores" --peak_tflops="$total_peak" \
  --torch_rounds=0 --record="$out/step_times.json"
bench input --num_images=4000 --rounds=2
bench fractals --batch=256 --batches=8 --numpy_images=1
echo "Figures for $chips chip(s) of $("$python" -c 'import jax; print(jax.devices()[0].device_kind)'), $cores host cores: $out/"
