#!/usr/bin/env bash
# Installs everything coordseg needs to build, test and run its demo, from Debian bookworm's
# own packages. Idempotent: when every package is already present it touches no network.
set -euo pipefail

packages=(
  # build tools
  cmake ninja-build g++ make pkg-config
  # LibTorch 1.13 (CPU) and the c10d/Gloo headers for distributed training
  libtorch-dev libgloo-dev
  # Without an optimised BLAS LibTorch falls back to the reference one, and the 3D
  # convolutions it routes through BLAS (all transposed ones) run about 12x slower.
  libopenblas0-openmp
  # NIfTI I/O
  libnifti2-dev libniftiio-dev libznz-dev zlib1g-dev
  # DICOM input (GDCM, with its JPEG, JPEG-LS, JPEG 2000 and RLE codecs)
  libgdcm-dev
  # small libraries
  nlohmann-json3-dev libcli11-dev libpng-dev libgif-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3 python3-nibabel python3-numpy
)
if [[ "${COORDSEG_FUZZ_DEPS:-0}" == 1 ]]; then
  # libFuzzer and the sanitizer runtimes (make fuzz, make sanitize)
  packages+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if (( ${#missing[@]} == 0 )); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
