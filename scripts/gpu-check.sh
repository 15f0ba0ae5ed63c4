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
#   and prints the figures (seconds per epoch and the log's data-parallel lines). Under 8 minutes
#   on the lent H200 as planned (build 46 s there); each part prints PASS or FAIL.
# usage: scripts/gpu-check.sh        (env: BUNDLE=gpu-bundle PREFIX=/tmp/coordseg-deps BUILD=build-gpu PYTHON=python3)
# CHECKS (default "tests dp speed") picks the parts after the build; SKIP_BUILD=1 uses $BUILD as
# it is. For a rehearsal of the speed part on a CPU: CHECKS=speed SPEED_DEVICE=cpu
# SPEED_PRESET=quick SPEED_PATCH=32 SPEED_REFERENCE=0 SPEED_PATCHES=2 (small enough for 2 cores).
set -uo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${BUNDLE:-gpu-bundle}
PREFIX=${PREFIX:-/tmp/coordseg-deps}
BUILD=${BUILD:-build-gpu}
PYTHON=${PYTHON:-python3}
CHECKS=${CHECKS:-tests dp speed}
want() { [[ " $CHECKS " == *" $1 "* ]]; }
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
if [[ ${SKIP_BUILD:-0} == 1 ]]; then
  echo "SKIP_BUILD=1: using $BUILD as it is"
else
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
fi
coordseg=$BUILD/app/coordseg
"$coordseg" --version

if want tests; then
step "tests (core, torch)"
(cd "$BUILD" && ctest -L 'core|torch' -E 'interop' -j "$(nproc)" --timeout 300 2>&1 | tail -4)
result "ctest core and torch" "${PIPESTATUS[0]}"
fi

if want dp; then
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
fi

if want speed; then
# Issue 12's table: each figure of coordseg beside the peer's, on one machine in one run.
SPEED_DEVICE=${SPEED_DEVICE:-cuda}
SPEED_PRESET=${SPEED_PRESET:-full}
SPEED_PATCH=${SPEED_PATCH:-96}
SPEED_REFERENCE=${SPEED_REFERENCE:-1}
SPEED_PATCHES=${SPEED_PATCHES:-20}  # TRAIN_PATCH_NUM: steps per training case and epoch
peer=${PEER:-$BUNDLE/peer_unet3d.py}
amp=bf16
[[ $SPEED_DEVICE == cpu ]] && ! grep -qwE 'amx_bf16|avx512_bf16' /proc/cpuinfo && amp=none

step "speed: the machine's ceiling (coordseg bench conv)"
"$coordseg" bench conv --device "$SPEED_DEVICE" 2>&1 | tail -3
result "bench conv" "${PIPESTATUS[0]}"

step "speed: training step and sliding window beside the peer (synthetic tensors)"
if [[ -f $peer ]]; then
  reference=()
  [[ $SPEED_REFERENCE == 1 ]] && reference=(--reference)
  PEER=$peer PYTHON=$PYTHON REPEAT=${REPEAT:-1} STEPS=${STEPS:-20} \
    bash scripts/bench-vs-peer.sh "$BUILD" --device "$SPEED_DEVICE" "${reference[@]}" 2>&1 | grep -v '^bench-vs-peer: \['
  result "bench-vs-peer" "${PIPESTATUS[0]}"
else
  echo "no $peer: run scripts/gpu-bundle.sh where ../shared/bench/peer_unet3d.py is, or set PEER"
  result "bench-vs-peer (no peer)" 1
fi

# The reference configuration (base 32, patch 96, batch 2, global coordinates) trained with the
# real loader and full augmentation on phantom CTs: 6 training cases x 20 patches = 120 steps
# an epoch, as the issue measured; the epoch lines give seconds and the device's wait for data.
step "speed: real-loader training, reference configuration ($SPEED_PRESET phantom CTs, $amp)"
work=$(mktemp -d)
start=$SECONDS
"$coordseg" phantom --out "$work/data" --cases 7 --preset "$SPEED_PRESET" --seed 3 >/dev/null
echo "phantom: 7 $SPEED_PRESET CT cases in $((SECONDS - start)) s"
loader=$(( $(nproc) > 4 ? $(nproc) - 4 : 1 ))
"$PYTHON" - "$work/ref.json" "$loader" "$SPEED_PATCHES" <<'PY'
import json, sys
p = json.load(open("configs/ct_train_coord_input.json"))
p.pop("MULTI_GPU", None)
p.update({"EPOCHS": 2, "VALID_CASES": 1, "VALID_PATCH_NUM": 8, "LOADER_THREADS": int(sys.argv[2]),
          "TRAIN_PATCH_NUM": int(sys.argv[3])})
json.dump(p, open(sys.argv[1], "w"), indent=1)
PY
start=$SECONDS
"$coordseg" train --params "$work/ref.json" --data "$work/data" --out "$work/run" --device "$SPEED_DEVICE" \
  --patch "$SPEED_PATCH" --amp "$amp" >"$work/train.log" 2>&1
status=$?
grep -E '^(model|epoch|trained)' "$work/train.log" | cut -c1-200
[[ $status -eq 0 ]] || tail -5 "$work/train.log"
result "reference training, 2 epochs of $((6 * SPEED_PATCHES)) steps, LOADER_THREADS $loader ($((SECONDS - start)) s with preprocessing)" $status

# One CT end to end at overlap 0.5 (read, preprocess, windows, restore, postprocess, write),
# then the peer's sliding window alone over the volume the network sees (RESIZE_R 0.6).
step "speed: predicting one CT end to end, reference configuration ($amp, overlap 0.5)"
ct=$(ls "$work"/data/ct_train/*_image.nii.gz | tail -1)
"$coordseg" info "$ct" | grep -E 'dims|spacing'
if [[ $status -eq 0 ]]; then
  "$coordseg" predict --model "$work/run" --input "$ct" --out "$work/pred" --device "$SPEED_DEVICE" --amp "$amp" \
    --overlap 0.5 --timings 2>&1 | grep -E 'windows|timings'
  result "predict one CT" "${PIPESTATUS[0]}"
  read -r nx ny nz < <("$coordseg" info "$ct" | awk '/dims/ {print $2, $4, $6}')
  vol=($(( (nz * 6 + 5) / 10 )) $(( (ny * 6 + 5) / 10 )) $(( (nx * 6 + 5) / 10 )))
  if [[ -f $peer ]]; then
    pbf=(); [[ $amp == bf16 ]] && pbf=(--bf16)
    echo "peer: sliding window alone over ${vol[*]} (z y x), patch $SPEED_PATCH, overlap 0.5"
    "$PYTHON" "$peer" infer --base 32 --patch "$SPEED_PATCH" --vol "${vol[@]}" --overlap 0.5 --coord "${pbf[@]}" \
      --threads "$(nproc)" --device "$SPEED_DEVICE" | tail -1 | cut -c1-200
    result "peer sliding window" "${PIPESTATUS[0]}"
  fi
fi
rm -rf "$work"
fi

printf '\n%s failures\n' "$failures"
[[ $failures -eq 0 ]]
