#!/usr/bin/env bash
# coordseg and the PyTorch-eager peer (../shared/bench/peer_unet3d.py) side by side, in one run,
# on the same machine and thread count: the training step and sliding-window inference, fp32
# (and bf16 where the CPU has AMX, or on CUDA). Prints each figure and the ratio
# coordseg / peer (below 1: coordseg is faster).
#
# usage: scripts/bench-vs-peer.sh [BUILD] [--device cpu|cuda] [--reference]
#   BUILD        build folder holding app/coordseg (default: build)
#   --device     where both run (default cpu)
#   --reference  also the reference configuration (base 32, patch 96, batch 2, global
#                coordinates; a GPU's size) and a 512 x 512 x 288 CT-sized volume
# Environment: PEER (the peer script), PYTHON (default /usr/bin/python3), THREADS (default:
# every core), STEPS (timed training steps, default 5), REPEAT (default 3: each figure is
# the median of REPEAT runs, the two sides taking turns, so a busy neighbour on a shared
# machine slows both rather than one).
set -euo pipefail
BUILD=build
DEVICE=cpu
REFERENCE=0
while (($#)); do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --reference) REFERENCE=1; shift ;;
    -*) echo "bench-vs-peer: unknown option $1" >&2; exit 2 ;;
    *) BUILD=$1; shift ;;
  esac
done
HERE=$(cd "$(dirname "$0")/.." && pwd)
PEER=${PEER:-$HERE/../shared/bench/peer_unet3d.py}
PYTHON=${PYTHON:-/usr/bin/python3}
THREADS=${THREADS:-$(nproc)}
STEPS=${STEPS:-5}
REPEAT=${REPEAT:-3}
C="$BUILD/app/coordseg"
[[ -x "$C" ]] || { echo "bench-vs-peer: $C: not built (make build, or give the build folder)" >&2; exit 2; }
[[ -f "$PEER" ]] || { echo "bench-vs-peer: $PEER: the peer script is missing (set PEER)" >&2; exit 2; }

# The peer needs PyTorch for Python: Debian's python3-torch is the same LibTorch build.
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  if command -v apt-get >/dev/null && [[ "$PYTHON" == /usr/bin/python3 ]]; then
    SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    echo "bench-vs-peer: installing python3-torch for the peer"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
  else
    echo "bench-vs-peer: $PYTHON cannot import torch (install PyTorch, or set PYTHON)" >&2; exit 2
  fi
fi

# bf16 where the device computes it natively: CUDA, or a CPU with AMX or AVX512-BF16.
AMPS=(none)
if [[ $DEVICE == cuda* ]] || grep -qwE 'amx_bf16|avx512_bf16' /proc/cpuinfo 2>/dev/null; then AMPS=(none bf16); fi

results=$(mktemp)
trap 'rm -f "$results"' EXIT
# Runs one side, keeps its last line (one JSON object) with a label.
run() {
  local label=$1; shift
  local line
  line=$("$@" | tail -n 1)
  echo "$label	$line" >>"$results"
}

configs=("8 48 2 128 128 96")
[[ $REFERENCE == 1 ]] && configs+=("32 96 2 288 512 512")
for ((rep = 1; rep <= REPEAT; rep++)); do
for cfg in "${configs[@]}"; do
  read -r base patch batch z y x <<<"$cfg"
  coord=(); pcoord=()
  if [[ $base == 32 ]]; then coord=(--coord global); pcoord=(--coord); fi
  for amp in "${AMPS[@]}"; do
    pbf=(); [[ $amp == bf16 ]] && pbf=(--bf16)
    tag="base $base, patch $patch, batch $batch, $([[ $amp == none ]] && echo fp32 || echo "$amp")"
    echo "bench-vs-peer: [$rep/$REPEAT] training step, $tag" >&2
    run "train $tag|coordseg" "$C" bench train --base "$base" --patch "$patch" --batch "$batch" "${coord[@]}" \
      --amp "$amp" --threads "$THREADS" --device "$DEVICE" --steps "$STEPS" --json
    run "train $tag|peer" "$PYTHON" "$PEER" train --base "$base" --patch "$patch" --batch "$batch" "${pcoord[@]}" \
      "${pbf[@]}" --threads "$THREADS" --device "$DEVICE" --steps "$STEPS"
    itag="base $base, patch $patch, volume $z x $y x $x, overlap 0.5, $([[ $amp == none ]] && echo fp32 || echo "$amp")"
    echo "bench-vs-peer: [$rep/$REPEAT] inference, $itag" >&2
    run "infer $itag|peer" "$PYTHON" "$PEER" infer --base "$base" --patch "$patch" --vol "$z" "$y" "$x" --overlap 0.5 \
      "${pcoord[@]}" "${pbf[@]}" --threads "$THREADS" --device "$DEVICE"
    run "infer $itag|coordseg" "$C" bench infer --base "$base" --patch "$patch" --vol "$z" "$y" "$x" --overlap 0.5 \
      "${coord[@]}" --amp "$amp" --threads "$THREADS" --device "$DEVICE" --steps 1 --json
    if [[ $DEVICE == cpu ]]; then
      # Larger windows than the patch (the network is fully convolutional): whole axes here.
      run "infer $itag|coordseg --tile $z $y $x" "$C" bench infer --base "$base" --patch "$patch" --vol "$z" "$y" "$x" \
        --overlap 0.5 "${coord[@]}" --tile "$z" "$y" "$x" --amp "$amp" --threads "$THREADS" --device "$DEVICE" \
        --steps 1 --json
    fi
  done
done
done

"$PYTHON" - "$results" "$THREADS" "$DEVICE" <<'PY'
import json, statistics, sys
runs = {}  # (what, who) -> the runs' JSON objects, in order of first appearance
for line in open(sys.argv[1]):
    label, _, js = line.rstrip("\n").partition("\t")
    what, who = label.split("|")
    runs.setdefault((what, who), []).append(json.loads(js))
def seconds(j): return j.get("sec_per_step", j.get("sec"))
def median_run(js): return sorted(js, key=seconds)[len(js) // 2]
best = {k: median_run(v) for k, v in runs.items()}
print(f"\ncoordseg against the PyTorch-eager peer ({sys.argv[3]}, {sys.argv[2]} threads; median of "
      f"{max(len(v) for v in runs.values())} runs); ratio = coordseg time / peer time")
print("| what | who | seconds | windows | GFLOP/s | ratio |")
print("|---|---|---|---|---|---|")
for (what, who), j in best.items():
    sec, p = seconds(j), best.get((what, "peer"))
    ratio = "" if who == "peer" or not p else f"{sec / seconds(p):.2f}"
    gf = j.get("gflop_per_s")
    print(f"| {what} | {who} | {sec:.3f} | {j.get('windows', '')} | {'' if gf is None else f'{gf:.1f}'} | {ratio} |")
PY
