#!/usr/bin/env bash
# `make demo`: the main job on the built-in phantom data. The pieces it needs -- the phantom
# generator, training, prediction and evaluation -- are not built yet; until they are, say
# so plainly and fail rather than pretend.
set -euo pipefail
BUILD=${1:-build}
"$BUILD/app/coordseg" --version
missing=()
for cmd in phantom train predict evaluate render; do
  if ! "$BUILD/app/coordseg" "$cmd" --help >/dev/null 2>&1; then missing+=("$cmd"); fi
done
if (( ${#missing[@]} > 0 )); then
  echo "coordseg demo: not available yet: this build lacks 'coordseg ${missing[*]}'." >&2
  echo "coordseg demo: what works now: 'coordseg info FILE...' (see README)." >&2
  exit 1
fi
