#!/usr/bin/env bash
# One script for a lent GPU machine (run with carry [".gpu"], see scripts/gpu_prepare.sh): unpacks
# Deno and the npm cache, runs the GPU tests, the benchmark and a short full-size training throughput
# measurement, and writes everything under $OUT for BENCHMARKS.md.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT" /tmp/gpu-bin /tmp/gpu-deno
for f in .gpu/debs/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
ldconfig 2>/dev/null || true
[ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
xz -dc .gpu/deno.xz > /tmp/gpu-bin/deno && chmod +x /tmp/gpu-bin/deno
tar -C /tmp/gpu-deno -xJf .gpu/npm.tar.xz
export PATH=/tmp/gpu-bin:$PATH DENO_DIR=/tmp/gpu-deno XDG_RUNTIME_DIR=/tmp CLIBD_QUIET=1
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  deno --version
  deno test -A --cached-only tests/matmul_test.ts tests/attention_test.ts tests/layernorm_test.ts \
    tests/topk_test.ts tests/loss_test.ts tests/model_gpu_test.ts tests/train_step_test.ts tests/gpu_runtime_test.ts
  deno run -A --cached-only tasks/bench.ts --out "$OUT/bench.json"
  # Full-size towers (random init: no pretrained weights here), contrastive batch 256 in chunks of 64.
  deno run -A --cached-only tasks/train.ts --config configs/bioscan1m_image_dna_text.yaml \
    --set image.checkpoint=null --set dna.checkpoint=null --set language.checkpoint=null \
    --set data.path="$PWD/data/demo/demo.hdf5" --set data.image_resize=256 --set data.image_crop=224 \
    --set contrastive_batch=256 --set chunk_size=64 --set output_dir=/tmp/gpu-runs --max-steps 10 --no-eval
} 2>&1 | tee "$OUT/log.txt"
