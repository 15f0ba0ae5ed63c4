#!/usr/bin/env bash
# Run on Debian bookworm with its package mirror: downloads the Debian packages the build needs
# besides LibTorch (nifticlib, CLI11, nlohmann-json, libpng, giflib, zlib, GoogleTest) into
# gpu-bundle/ (ignored by git), for scripts/gpu-check.sh on a machine that has PyTorch with
# CUDA, CMake and a compiler but neither these packages nor a network (the lent GPU machine).
# usage: scripts/gpu-bundle.sh [DIR]     (about 3 MB; carry DIR with the working tree)
# It also copies ../shared/bench/peer_unet3d.py there when present.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-bundle}
packages=(libnifti2-dev libnifti2-2 libznz-dev libznz3 libcli11-dev nlohmann-json3-dev libpng-dev libpng16-16
          libgif-dev libgif7 zlib1g-dev zlib1g libgtest-dev)
mkdir -p "$out"
cd "$out"
rm -f ./*.deb
apt-get download "${packages[@]}" >/dev/null
ls -1 ./*.deb | wc -l | xargs printf '%s packages in '"$out"'/, '
du -sh . | cut -f1
# The PyTorch-eager peer, for gpu-check's side-by-side figures (the GPU machine sees only the
# repository and what is carried with it).
peer=../../shared/bench/peer_unet3d.py
[[ -f "$peer" ]] && cp "$peer" . && echo "and the peer, peer_unet3d.py"
