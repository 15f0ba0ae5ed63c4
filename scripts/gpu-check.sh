#!/usr/bin/env bash
# The checks that need a GPU, in one run on a machine with PyTorch (CUDA), CMake and a C++
# compiler but no Debian packages and no network (the lent GPU machine):
#   1. unpacks gpu-bundle/*.deb (made by scripts/gpu-bundle.sh) into a prefix with dpkg -x;
#   2. builds against PyTorch's own LibTorch (torch.utils.cmake_prefix_path);
#   3. runs the core and torch tests (ctest; the nibabel interop test needs python3-nibabel);
#   4. the data-parallel checks of issue 11 on CUDA: one process on GPU 0, a one-rank NCCL run
#      end to end (coordseg launch --nproc-per-node 1), two ranks sharing GPU 0 over Gloo, two
#      GPUs over NCCL where there are two, and MULTI_GPU naming GPUs the machine lacks;
#   5. speed (issue 12): coordseg bench conv; the reference configuration's training step
#      (base 32, patch 96, batch 2, global coordinates) in fp32 and bf16 beside the peer's
#      (gpu-bundle/peer_unet3d.py); a short training on full-size phantom CTs with the real
#      loader (the epoch line's "waited"); and predicting one 512 x 512 CT end to end with
#      --timings, beside the peer's sliding window over the resampled volume;
#   and prints the figures (seconds per epoch and the log's data-parallel lines).
# usage: scripts/gpu-check.sh        (env: BUNDLE=gpu-bundle PREFIX=/tmp/coordseg-deps BUILD=build-gpu PYTHON=python3)
set -uo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${BUNDLE:-gpu-bundle}
PREFIX=${PREFIX:-/tmp/coordseg-deps}
BUILD=${BUILD:-build-gpu}
PYTHON=${PYTHON:-python3}
failures=0
step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }
result() {  # result NAME STATUS
  if [[ $2 -eq 0 ]]; then echo "PASS: $1"; else echo "FAIL: $1 (status $2)"; failures=$((failures + 1)); fi
}

step "dependencies"
ls "$BUNDLE"/*.deb >/dev/null 2>&1 || { echo "no $BUNDLE/*.deb: run scripts/gpu-bundle.sh on Debian first"; exit 1; }
mkdir -p "$PREFIX"
for deb in "$BUNDLE"/*.deb; do dpkg -x "$deb" "$PREFIX"; done
torch_prefix=${TORCH_CMAKE_PREFIX:-$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')}
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpus", torch.cuda.device_count())'
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
export LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

step "build"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
start=$SECONDS
cmake -S . -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCOORDSEG_BUILD_BENCH=OFF \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$PREFIX/usr" >"$BUILD.configure.log" 2>&1
status=$?
grep -E 'data-parallel|gloo|Gloo|NCCL' "$BUILD.configure.log"
[[ $status -eq 0 ]] && cmake --build "$BUILD" -j "$(nproc)" >"$BUILD.build.log" 2>&1
status=$?
result "configure and build in $((SECONDS - start)) s" $status
[[ $status -eq 0 ]] || { tail -30 "$BUILD.configure.log" "$BUILD.build.log"; exit 1; }
coordseg=$BUILD/app/coordseg
"$coordseg" --version

step "tests (core, torch)"
(cd "$BUILD" && ctest -L 'core|torch' -E 'interop' -j "$(nproc)" --timeout 300 2>&1 | tail -4)
result "ctest core and torch" "${PIPESTATUS[0]}"

step "data-parallel on CUDA (issue 11)"
work=$(mktemp -d)
"$coordseg" phantom --out "$work/data" --cases 4 --seed 21 >/dev/null
cat >"$work/tiny.json" <<'JSON'
{"BASE_FILTERS": 8, "DEPTH": 3, "PATCH_DIM": 32, "TARGET_SPACING": 4, "BATCH_SIZE": 2, "TRAIN_PATCH_NUM": 10,
 "VALID_PATCH_NUM": 4, "VALID_CASES": 1, "EPOCHS": 2, "LEARNINGRATE": 0.003, "NORMALIZATION": "instance",
 "ACTIVATION": "leakyrelu", "THREADS": 4, "COORD": "global"}
JSON
run() {  # run NAME OUT args...
  local name=$1 out=$2
  shift 2
  local t0=$SECONDS
  "$coordseg" "$@" --params "$work/tiny.json" --data "$work/data" --out "$work/$out" >"$work/$out.log" 2>&1
  local status=$?
  grep -E '^(model|data-parallel|epoch)' "$work/$out.log" | cut -c1-160
  [[ $status -eq 0 ]] || tail -5 "$work/$out.log"
  result "$name ($((SECONDS - t0)) s)" $status
}
run "one process on GPU 0" cuda1 train --gpus 0
run "one-rank NCCL end to end" nccl1 launch --nproc-per-node 1 -- train --gpus 0 --backend nccl
run "two ranks on GPU 0 over Gloo" gloo2 train --gpus 0 --nproc 2 --backend gloo
if [[ $("$PYTHON" -c 'import torch; print(torch.cuda.device_count())') -ge 2 ]]; then
  run "two GPUs over NCCL" nccl2 train --gpus 0,1
fi
sed 's/"EPOCHS": 2/"EPOCHS": 1, "MULTI_GPU": ["6", "7"]/' "$work/tiny.json" >"$work/gpus.json"
"$coordseg" train --params "$work/gpus.json" --data "$work/data" --out "$work/gpus" >/dev/null 2>"$work/gpus.err"
status=$?
cat "$work/gpus.err"
[[ $status -eq 2 ]] && grep -q 'MULTI_GPU: lists GPUs 6, 7, which this machine does not have' "$work/gpus.err"
result "MULTI_GPU naming missing GPUs is exit 2 with the GPUs present" $?
rm -rf "$work"

printf '\n%s failures\n' "$failures"
[[ $failures -eq 0 ]]
