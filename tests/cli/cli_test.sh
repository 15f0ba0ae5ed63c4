#!/usr/bin/env bash
# End-to-end tests of the coordseg command: exit codes (0 ok, 1 bad data, 2 bad usage),
# one-line errors naming the file or option, and real output.
# usage: cli_test.sh PATH/TO/coordseg PATH/TO/nifti_probe [PATH/TO/dicom_probe]
# (the DICOM tests run where the build has GDCM, which dicom_probe needs)
set -u
COORDSEG=$1
PROBE=$2
DICOM_PROBE=${3:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

# expect CODE STDERR_REGEX STDOUT_REGEX -- command...
expect() {
  local code=$1 err_re=$2 out_re=$3
  shift 4
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  local ok=1
  [[ $rc -eq $code ]] || ok=0
  if [[ -n $err_re ]]; then grep -Eq -- "$err_re" "$TMP/err" || ok=0; fi
  if [[ -n $out_re ]]; then grep -Eq -- "$out_re" "$TMP/out" || ok=0; fi
  # Errors are one line each.
  if [[ $code -ne 0 && -n $err_re ]]; then
    [[ $(grep -c '' "$TMP/err") -ge 1 ]] && ! grep -qv '^coordseg: error: ' "$TMP/err" || ok=0
  fi
  if [[ $ok -eq 1 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $* (rc $rc, want $code)"
    echo "--- stdout"; head -20 "$TMP/out"; echo "--- stderr"; head -20 "$TMP/err"
  fi
}

# Usage.
expect 0 '' 'Usage: coordseg' -- "$COORDSEG" --help
expect 0 '' '^coordseg [0-9]+\.[0-9]+\.[0-9]+ \(LibTorch [0-9.]+\)' -- "$COORDSEG" --version
expect 2 '^coordseg: error: .*subcommand' '' -- "$COORDSEG"
expect 2 '^coordseg: error: .*--bogus' '' -- "$COORDSEG" --bogus
expect 2 '^coordseg: error: --bogus: not an option or argument of this command \(see coordseg train --help\)$' '' -- \
  "$COORDSEG" train --bogus --data x
expect 2 '^coordseg: error: .*' '' -- "$COORDSEG" frobnicate
expect 2 '^coordseg: error: .*files.*required' '' -- "$COORDSEG" info
expect 0 '' 'Usage: coordseg info' -- "$COORDSEG" info --help

# A real file written by nibabel-independent code: the probe copies a crafted image.
python_nifti() {
  # A 4 x 3 x 2 uint8 label map, LPS, 2 mm, written byte by byte (no library involved).
  /usr/bin/python3 - "$1" <<'PY'
import struct, sys
hdr = bytearray(348)
struct.pack_into("<i", hdr, 0, 348)
struct.pack_into("<8h", hdr, 40, 3, 4, 3, 2, 1, 1, 1, 1)
struct.pack_into("<hh", hdr, 70, 2, 8)                 # datatype uint8, bitpix
struct.pack_into("<8f", hdr, 76, 1, 2, 2, 2, 1, 1, 1, 1)
struct.pack_into("<f", hdr, 108, 352.0)                # vox_offset
struct.pack_into("<ff", hdr, 112, 1.0, 0.0)
hdr[123] = 2                                           # xyzt_units: mm
struct.pack_into("<hh", hdr, 252, 0, 1)                # qform_code 0, sform_code 1
struct.pack_into("<4f", hdr, 280, -2, 0, 0, 10)
struct.pack_into("<4f", hdr, 296, 0, -2, 0, 20)
struct.pack_into("<4f", hdr, 312, 0, 0, 2, -30)
hdr[344:348] = b"n+1\0"
data = bytes([0] * 20 + [205] * 3 + [1])
open(sys.argv[1], "wb").write(bytes(hdr) + b"\0" * 4 + data)
PY
}
python_nifti "$TMP/lbl.nii"
expect 0 '' 'orientation  LPS \(from the sform; qform_code 0, sform_code 1\)' -- "$COORDSEG" info "$TMP/lbl.nii"
expect 0 '' '^ +205 +1 +MLV +3 +0\.02$' -- "$COORDSEG" info "$TMP/lbl.nii"
expect 0 '' '^ +1 +- +- +1 +0\.01$' -- "$COORDSEG" info "$TMP/lbl.nii"
expect 0 '' 'dims         4 x 3 x 2 voxels' -- "$COORDSEG" info "$TMP/lbl.nii"
"$PROBE" copy "$TMP/lbl.nii" "$TMP/lbl_copy.nii.gz" --labels
expect 0 '' 'format       NIfTI-1, gzip-compressed' -- "$COORDSEG" info "$TMP/lbl_copy.nii.gz"

# Bad data: exit 1, one line naming the file.
expect 1 "^coordseg: error: $TMP/missing.nii.gz: no such file$" '' -- "$COORDSEG" info "$TMP/missing.nii.gz"
if [[ -n $DICOM_PROBE ]]; then
  expect 1 "^coordseg: error: $TMP: holds no DICOM image series \\([0-9]+ files, [0-9]+ not DICOM, 0 without pixel data\\)$" '' -- \
    "$COORDSEG" info "$TMP"
else  # a build without GDCM
  expect 1 "^coordseg: error: $TMP: is a folder: DICOM input needs GDCM, and this build of coordseg was made without it" '' -- \
    "$COORDSEG" info "$TMP"
fi
echo "not an image" >"$TMP/text.nii"
expect 1 "^coordseg: error: $TMP/text.nii: not a NIfTI file" '' -- "$COORDSEG" info "$TMP/text.nii"
head -c 300 "$TMP/lbl.nii" >"$TMP/short.nii"
expect 1 "^coordseg: error: $TMP/short.nii: truncated file" '' -- "$COORDSEG" info "$TMP/short.nii"
# Several files: the good one is described, each bad one reported, exit 1.
expect 1 "^coordseg: error: $TMP/text.nii: not a NIfTI file" 'dims         4 x 3 x 2 voxels' -- \
  "$COORDSEG" info "$TMP/text.nii" "$TMP/lbl.nii"

# phantom: a tiny dataset, then bad options.
expect 0 '' '^ct_train_1002: [0-9]+ x [0-9]+ x [0-9]+ voxels' -- "$COORDSEG" phantom --out "$TMP/ph" --cases 2 --seed 3
expect 0 '' 'labels       8 values' -- "$COORDSEG" info "$TMP/ph/ct_train/ct_train_1001_label.nii.gz"
expect 0 '' '"numTraining": 2' -- cat "$TMP/ph/dataset.json"
expect 2 "^coordseg: error: $TMP/ph: folder already holds files" '' -- "$COORDSEG" phantom --out "$TMP/ph" --cases 1
"$COORDSEG" phantom --out "$TMP/phf" --cases 3 --seed 4 >/dev/null
expect 0 '' '' -- "$COORDSEG" phantom --out "$TMP/phf" --cases 1 --seed 4 --force
expect 0 '' '^ct_train_1001_image.nii.gz ct_train_1001_label.nii.gz $' -- bash -c "ls '$TMP/phf/ct_train' | tr '\n' ' '"
expect 2 '^coordseg: error: --cases: must be at least 1 \(got 0\)$' '' -- "$COORDSEG" phantom --out "$TMP/ph0" --cases 0
expect 2 "^coordseg: error: --preset: unknown preset 'huge' \(expected quick or full\)$" '' -- \
  "$COORDSEG" phantom --out "$TMP/ph1" --preset huge
expect 2 "^coordseg: error: --modality: unknown modality 'pet'" '' -- "$COORDSEG" phantom --out "$TMP/ph1" --modality pet
expect 2 "^coordseg: error: --generation: unknown phantom generation 3 \\(expected 1 or 2\\)$" '' -- \
  "$COORDSEG" phantom --out "$TMP/ph1" --generation 3
[[ ! -e $TMP/ph1 ]] || { echo "FAIL: a refused phantom left $TMP/ph1"; failed=$((failed + 1)); }
expect 0 '' '^ct_train_1001: .*, (arterial|pulmonary|venous)(, field of view cuts the vessels)?, [0-9.]+ s$' -- \
  "$COORDSEG" phantom --out "$TMP/ph2" --cases 1 --seed 5
expect 0 '' '^ct_train_1001: [0-9]+ x [0-9]+ x [0-9]+ voxels, [0-9. x]+ mm, (RAS|LPS)(, field of view cuts the vessels)?, [0-9.]+ s$' -- \
  "$COORDSEG" phantom --out "$TMP/ph3" --cases 1 --seed 5 --generation 1
[[ $(head -1 "$TMP/ph2/phantom_facts.csv") == case,orientation,phase,* ]] || { echo "FAIL: phantom_facts.csv header"; failed=$((failed + 1)); }
# --no-motion: seed 11's first case draws cardiac motion (1.9 mm); without it the same case
# has the same label map and another image.
"$COORDSEG" phantom --out "$TMP/phm" --cases 1 --seed 11 >/dev/null
expect 0 '' '' -- "$COORDSEG" phantom --out "$TMP/phs" --cases 1 --seed 11 --no-motion
motion_of() { awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "motion_blur_mm") c = i } NR == 2 { print $c }' "$1"; }
expect 0 '' '^1\.9$' -- motion_of "$TMP/phm/phantom_facts.csv"
expect 0 '' '^0\.0$' -- motion_of "$TMP/phs/phantom_facts.csv"
expect 0 '' '"motion": false' -- cat "$TMP/phs/dataset.json"
expect 0 '' '' -- cmp "$TMP/phm/ct_train/ct_train_1001_label.nii.gz" "$TMP/phs/ct_train/ct_train_1001_label.nii.gz"
expect 1 '' '' -- cmp -s "$TMP/phm/ct_train/ct_train_1001_image.nii.gz" "$TMP/phs/ct_train/ct_train_1001_image.nii.gz"
expect 2 '^coordseg: error: .*--out.*required' '' -- "$COORDSEG" phantom
[[ ! -e "$TMP/ph0" && ! -e "$TMP/ph1" ]] || { echo "FAIL: a refused phantom run created its folder"; failed=$((failed + 1)); }

# render: PNG and GIF, then bad input.
IMG=$TMP/ph/ct_train/ct_train_1001_image.nii.gz
LBL=$TMP/ph/ct_train/ct_train_1001_label.nii.gz
expect 0 '' "^wrote $TMP/a.png$" -- "$COORDSEG" render --image "$IMG" --label "$LBL" --out "$TMP/a.png"
expect 0 '' "^wrote $TMP/c.gif$" -- "$COORDSEG" render --image "$IMG" --label "$LBL" --pred "$LBL" \
  --titles mask "U-Net 3D" --axis coronal --slices 5 --out "$TMP/c.gif"
expect 0 '' 'PNG' -- head -c 4 "$TMP/a.png"
expect 0 '' '^GIF89a' -- head -c 6 "$TMP/c.gif"
expect 1 "^coordseg: error: $TMP/ph/ct_train/ct_train_1002_label.nii.gz: grid differs from $IMG" '' -- \
  "$COORDSEG" render --image "$IMG" --label "$TMP/ph/ct_train/ct_train_1002_label.nii.gz" --out "$TMP/bad.png"
expect 2 "^coordseg: error: --axis: unknown slice axis 'oblique'" '' -- \
  "$COORDSEG" render --image "$IMG" --axis oblique --out "$TMP/bad.png"
expect 2 "^coordseg: error: --titles: gives 1 titles for 2 panels$" '' -- \
  "$COORDSEG" render --image "$IMG" --label "$LBL" --pred "$LBL" --titles one --out "$TMP/bad.png"
expect 2 "^coordseg: error: --window: expected CENTRE,WIDTH" '' -- \
  "$COORDSEG" render --image "$IMG" --window 40 --out "$TMP/bad.png"
expect 0 '' "^wrote $TMP/pua.png$" -- "$COORDSEG" render --image "$IMG" --label "$LBL" --through 850 --out "$TMP/pua.png"
expect 2 "^coordseg: error: --through: label value 123 is not in $LBL$" '' -- \
  "$COORDSEG" render --image "$IMG" --label "$LBL" --through 123 --out "$TMP/bad.png"
expect 2 "^coordseg: error: --through: needs a label map \\(--label or --pred\\)$" '' -- \
  "$COORDSEG" render --image "$IMG" --through 850 --out "$TMP/bad.png"
expect 2 "^coordseg: error: $TMP/bad.jpg: output must end in .png or .gif$" '' -- \
  "$COORDSEG" render --image "$IMG" --out "$TMP/bad.jpg"
[[ ! -e "$TMP/bad.png" ]] || { echo "FAIL: a refused render wrote its output"; failed=$((failed + 1)); }

# train: a tiny run on the two phantom cases, resumed for a second epoch; bad parameters.
cat >"$TMP/tiny.json" <<'JSON'
{"PATCH_DIM": 16, "TARGET_SPACING": 6, "BASE_FILTERS": 4, "DEPTH": 2, "BATCH_SIZE": 2, "TRAIN_PATCH_NUM": 2,
 "VALID_PATCH_NUM": 2, "VALID_CASES": 1, "EPOCHS": 1, "NORMALIZATION": "instance", "LEARNINGRATE": 0.01, "THREADS": 1}
JSON
expect 0 '' '^epoch 1/1  loss [0-9.]+  val_loss [0-9.]+  val_dice MLV' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/ph" --out "$TMP/run"
for f in config.json history.csv best.pt last.pt train.log info.json; do
  [[ -s "$TMP/run/$f" ]] || { echo "FAIL: run folder lacks $f"; failed=$((failed + 1)); }
done
expect 0 '' '^epoch 2/2 ' -- "$COORDSEG" train --resume "$TMP/run" --data "$TMP/ph" --epochs 2
expect 0 '' '^3$' -- bash -c "wc -l < '$TMP/run/history.csv'"
# Resuming: history rows past the checkpoint are dropped; stale temporaries of dead processes
# go, a live process's stay; only --epochs, --steps, --threads and --device may change.
cp "$TMP/run/history.csv" "$TMP/history.before"
echo '9,1,1,0,0,0,0,0,0,0,0,0.1,1,1' >>"$TMP/run/history.csv"
touch "$TMP/run/.last.pt.tmp999999999" "$TMP/run/.best.pt.tmp$$"
expect 0 '' '^epoch 3/3 ' -- "$COORDSEG" train --resume "$TMP/run" --data "$TMP/ph" --epochs 3
expect 0 '' '^1,2,3,$' -- bash -c "cut -d, -f1 '$TMP/run/history.csv' | tail -n +2 | tr '\n' ,"
[[ ! -e "$TMP/run/.last.pt.tmp999999999" && -e "$TMP/run/.best.pt.tmp$$" ]] ||
  { echo "FAIL: stale temporaries"; failed=$((failed + 1)); }
rm -f "$TMP/run/.best.pt.tmp$$"
cp "$TMP/run/config.json" "$TMP/config.before"
expect 2 '^coordseg: error: --patch: cannot change when resuming' '' -- \
  "$COORDSEG" train --resume "$TMP/run" --data "$TMP/ph" --epochs 4 --patch 32
cmp -s "$TMP/run/config.json" "$TMP/config.before" || { echo "FAIL: a refused resume rewrote config.json"; failed=$((failed + 1)); }
# A new run needs --params; unreadable parameter files are data errors naming the file.
expect 2 '^coordseg: error: --params: a new run needs a parameter file' '' -- \
  "$COORDSEG" train --data "$TMP/ph" --out "$TMP/run2"
expect 1 "^coordseg: error: $TMP: is a folder, not a parameter file$" '' -- \
  "$COORDSEG" train --params "$TMP" --data "$TMP/ph" --out "$TMP/run2"
expect 1 "^coordseg: error: $TMP/none.json: cannot open the parameter file: No such file or directory$" '' -- \
  "$COORDSEG" train --params "$TMP/none.json" --data "$TMP/ph" --out "$TMP/run2"
expect 2 "^coordseg: error: $TMP/tiny.json: exists and is not a folder" '' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/ph" --out "$TMP/tiny.json" --force
# A patch that cannot fit is refused up front, in one line.
expect 2 '^coordseg: error: PATCH_DIM: a training step of batch 2 at patch 4096x4096x4096 needs [0-9.]+ GiB, more than the [0-9.]+ GiB of available memory$' '' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/ph" --out "$TMP/run2" --patch 4096
# Thread counts: no negatives, no runaway pools.
expect 2 '^coordseg: error: --threads: 100000 threads for [0-9]+ cores; at most [0-9]+ \(4 per core\)$' '' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/ph" --out "$TMP/run2" --threads 100000
expect 2 '^coordseg: error: --threads: must not be negative$' '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred6" --threads -1
expect 2 '^coordseg: error: --threads: 100000 threads' '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred6" --threads 100000
expect 2 '^coordseg: error: --threads: 100000 threads' '' -- \
  "$COORDSEG" phantom --out "$TMP/ph7" --cases 1 --threads 100000
[[ ! -e "$TMP/run2" && ! -e "$TMP/pred6" && ! -e "$TMP/ph7" ]] ||
  { echo "FAIL: a refused command left a folder"; failed=$((failed + 1)); }
expect 2 "^coordseg: error: $TMP/run: run folder already holds files" '' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/ph" --out "$TMP/run"
echo '{"EPOCS": 3}' >"$TMP/typo.json"
expect 2 "^coordseg: error: $TMP/typo.json: unknown key EPOCS" '' -- \
  "$COORDSEG" train --params "$TMP/typo.json" --data "$TMP/ph" --out "$TMP/run2"
echo '{"EPOCHS": "many"}' >"$TMP/type.json"
expect 2 "^coordseg: error: $TMP/type.json: key EPOCHS must be an integer, got a string" '' -- \
  "$COORDSEG" train --params "$TMP/type.json" --data "$TMP/ph" --out "$TMP/run2"
expect 2 '^coordseg: error: --out: give either --out RUN' '' -- "$COORDSEG" train --data "$TMP/ph"
expect 2 '^coordseg: error: --amp: fp16 needs CUDA' '' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/ph" --out "$TMP/run2" --amp fp16 --device cpu
# Command-line overrides are checked like the file's keys, 0 included, and name the option.
expect 2 '^coordseg: error: --epochs: must be at least 1, got 0$' '' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/ph" --out "$TMP/run2" --epochs 0
expect 2 '^coordseg: error: --lr: must be positive$' '' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/ph" --out "$TMP/run2" --lr -1
expect 2 '^coordseg: error: --threads: must not be negative$' '' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/ph" --out "$TMP/run2" --threads -5
expect 2 "^coordseg: error: --amp: unknown value 'fp8' \\(expected none, bf16 or fp16\\)$" '' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/ph" --out "$TMP/run2" --amp fp8
expect 2 "^coordseg: error: --amp: unknown value 'fp8'" '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred5" --amp fp8
expect 1 "^coordseg: error: $TMP/nowhere: no such dataset folder" '' -- \
  "$COORDSEG" train --params "$TMP/tiny.json" --data "$TMP/nowhere" --out "$TMP/run2"
[[ ! -e "$TMP/run2" ]] || { echo "FAIL: a refused training run left a folder"; failed=$((failed + 1)); }

# predict, evaluate, plot with the tiny run.
expect 0 '' "ct_train_1001_label.nii.gz: [0-9]+ windows" -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$TMP/ph/ct_train" --out "$TMP/pred" --threads 1
expect 0 '' '^  timings: read [0-9.]+ s, preprocess [0-9.]+ s, windows [0-9.]+ s, restore [0-9.]+ s, postprocess [0-9.]+ s, write [0-9.]+ s, total [0-9.]+ s$' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$TMP/ph/ct_train/ct_train_1001_image.nii.gz" --out "$TMP/pred_t" \
  --threads 1 --timings
# The prediction sits on its image's grid: same dims, affine and transform codes.
"$PROBE" dump "$TMP/pred/ct_train_1002_label.nii.gz" "$TMP/pred2" --labels
"$PROBE" dump "$TMP/ph/ct_train/ct_train_1002_image.nii.gz" "$TMP/img2"
expect 0 '' '^same grid$' -- /usr/bin/python3 -c "
import json
a, b = json.load(open('$TMP/pred2.json')), json.load(open('$TMP/img2.json'))
keys = ('dims', 'affine', 'qform_code', 'sform_code')
print('same grid' if all(a[k] == b[k] for k in keys) else 'differ: %s %s' % (a, b))"
# An oblique copy (written by nibabel) predicts onto exactly its own grid, read back by nibabel.
/usr/bin/python3 - "$TMP" <<'PY'
import sys, math, numpy as np, nibabel as nib
d = sys.argv[1]
img = nib.load(f"{d}/ph/ct_train/ct_train_1001_image.nii.gz")
c, s = math.cos(0.3), math.sin(0.3)
rot = np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
out = nib.Nifti1Image(np.asarray(img.dataobj), rot @ img.affine)
out.set_qform(rot @ img.affine, code=1)
out.set_sform(rot @ img.affine, code=2)
import os; os.makedirs(f"{d}/oblique", exist_ok=True)
nib.save(out, f"{d}/oblique/obl_image.nii.gz")
PY
expect 0 '' 'obl_label.nii.gz' -- "$COORDSEG" predict --model "$TMP/run" --input "$TMP/oblique" --out "$TMP/pred_obl" --threads 1
expect 0 '' '^same geometry$' -- /usr/bin/python3 -c "
import nibabel as nib, numpy as np
a, b = nib.load('$TMP/oblique/obl_image.nii.gz'), nib.load('$TMP/pred_obl/obl_label.nii.gz')
ok = a.shape == b.shape and np.allclose(a.affine, b.affine, atol=1e-5) and np.allclose(a.get_qform(), b.get_qform(), atol=1e-5)
ok = ok and int(a.header['sform_code']) == int(b.header['sform_code']) == 2 and int(b.header['qform_code']) == 1
print('same geometry' if ok else 'differ')"
expect 0 '' "^wrote $TMP/pred.gif$" -- "$COORDSEG" render --image "$IMG" --label "$LBL" \
  --pred "$TMP/pred/ct_train_1001_label.nii.gz" --titles Mask Tiny --out "$TMP/pred.gif"
expect 0 '' '^Model \| Background \| MLV \| LABC \| LVBC \| RABC \| RVBC \| ASA \| PUA \| Average DSC$' -- \
  "$COORDSEG" evaluate --pred "$TMP/pred" --truth "$TMP/ph" --name tiny --csv "$TMP/e.csv" --json "$TMP/e.json"
expect 0 '' '^tiny \| [0-9.]+ \| ' -- "$COORDSEG" evaluate --pred "$TMP/pred" --truth "$TMP/ph" --name tiny
# Beside the label maps: the viewers' colour files, once per folder; with --volumes, the
# structure volumes per case, which evaluate --volumes repeats beside the reference's.
expect 0 '' '^  205  230   40   40    1  1  1  "Left ventricle myocardium \(MLV\)"$' -- cat "$TMP/pred/labels.itksnap.txt"
expect 0 '' '^850 Pulmonary_artery 250 140 40 255$' -- cat "$TMP/pred/labels.slicer.ctbl"
expect 0 '' 'ct_train_1001_label.nii.gz' -- "$COORDSEG" predict --model "$TMP/run" --input "$TMP/ph/ct_train" \
  --out "$TMP/pred_vol" --threads 1 --volumes "$TMP/vol.csv"
expect 0 '' '^ct_train_1002,PUA,850,[0-9]+,[0-9.]+,$' -- cat "$TMP/vol.csv"
expect 0 '' '^15$' -- awk 'END { print NR }' "$TMP/vol.csv"
expect 0 '' '^tiny \| ' -- "$COORDSEG" evaluate --pred "$TMP/pred_vol" --truth "$TMP/ph" --name tiny --volumes "$TMP/evol.csv"
expect 0 '' '^tiny,ct_train_1001,MLV,205,[0-9]+,[0-9.]+,[0-9.]+,[0-9]+,[0-9.]+,[0-9.]+,-?[0-9.]+$' -- cat "$TMP/evol.csv"
# The predicted voxels agree between the two reports, and the reference's agree with a count by nibabel.
expect 0 '' '^volumes agree$' -- /usr/bin/python3 -c "
import csv, numpy as np, nibabel as nib
p = {(r['case'], r['structure']): int(r['voxels']) for r in csv.DictReader(open('$TMP/vol.csv'))}
e = list(csv.DictReader(open('$TMP/evol.csv')))
ok = len(e) == 14 and all(p[(r['case'], r['structure'])] == int(r['voxels']) for r in e)
for r in e:
    img = nib.load('$TMP/ph/ct_train/%s_label.nii.gz' % r['case'])
    n = int((np.asarray(img.dataobj) == int(r['value'])).sum())
    ml = n * float(np.prod(img.header.get_zooms()[:3])) / 1000
    ok = ok and n == int(r['truth_voxels']) and abs(ml - float(r['truth_volume_ml'])) < 6e-4
print('volumes agree' if ok else 'differ')"
expect 2 "^coordseg: error: $TMP/vol.csv: already exists; pass --force to overwrite$" '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred_vol2" --volumes "$TMP/vol.csv"
[[ ! -e "$TMP/pred_vol2" ]] || { echo "FAIL: a refused prediction left a folder"; failed=$((failed + 1)); }
echo '0 0 0 0 0 0 0 "my own labels"' > "$TMP/pred_vol/labels.itksnap.txt"
expect 2 "^coordseg: error: $TMP/pred_vol/labels.itksnap.txt: already exists with other labels; pass --force to overwrite$" '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$TMP/oblique/obl_image.nii.gz" --out "$TMP/pred_vol"
expect 0 '' '^0 0 0 0 0 0 0 "my own labels"$' -- cat "$TMP/pred_vol/labels.itksnap.txt"
expect 0 '' '^mean,' -- cat "$TMP/e.csv"
expect 0 '' '"average_dsc"' -- cat "$TMP/e.json"
expect 2 "^coordseg: error: $TMP/pred/ct_train_1001_label.nii.gz: already exists; pass --force to overwrite$" '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$TMP/ph/ct_train" --out "$TMP/pred" --threads 1
expect 1 "^coordseg: error: $TMP/nomodel/best.pt: no such checkpoint|^coordseg: error: $TMP/nomodel: " '' -- \
  "$COORDSEG" predict --model "$TMP/nomodel" --input "$IMG" --out "$TMP/pred3"
expect 2 '^coordseg: error: --overlap: must be in \[0, 1\), got -0.500000$' '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred4" --overlap -0.5
# --tile: whole-volume windows (the tiny run's patch 16, depth 2), and its errors.
expect 0 '' "ct_train_1001_label.nii.gz: 1 windows" -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$TMP/ph/ct_train/ct_train_1001_image.nii.gz" --out "$TMP/pred_tile" \
  --threads 1 --tile 256
expect 0 '' "^note: --tile with instance normalisation: each window's statistics come from more voxels" -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$TMP/ph/ct_train/ct_train_1001_image.nii.gz" --out "$TMP/pred_tile" \
  --threads 1 --tile 256 --force
expect 2 '^coordseg: error: --tile: give one side or three \(D H W\), not two$' '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred7" --tile 32 32
expect 2 '^coordseg: error: --tile: 33 is not a positive multiple of 2 \(2\^\(DEPTH-1\) of this model\)$' '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred7" --tile 33
expect 2 "^coordseg: error: --tile: 8 is smaller than the model's patch side 16$" '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred7" --tile 8
[[ ! -e "$TMP/pred7" ]] || { echo "FAIL: a refused prediction left a folder"; failed=$((failed + 1)); }
# --keep-heart keeps, of each structure, exactly one whole 6-connected component of the plain
# prediction (flood-filled here in Python), and nothing else.
expect 0 '' 'ct_train_1001_label.nii.gz' -- "$COORDSEG" predict --model "$TMP/run" --input "$TMP/ph/ct_train" \
  --out "$TMP/pred_heart" --threads 1 --keep-heart --heart-margin 4
expect 0 '' '^one whole component per structure$' -- /usr/bin/python3 -c "
import numpy as np, nibabel as nib
def component(mask, seed):
    seen = {seed}; todo = [seed]
    while todo:
        p = todo.pop()
        for a in range(3):
            for d in (-1, 1):
                q = list(p); q[a] += d; q = tuple(q)
                if 0 <= q[a] < mask.shape[a] and q not in seen and mask[q]:
                    seen.add(q); todo.append(q)
    return seen
ok = True
for c in ('1001', '1002'):
    raw = np.asarray(nib.load('$TMP/pred/ct_train_%s_label.nii.gz' % c).dataobj)
    heart = np.asarray(nib.load('$TMP/pred_heart/ct_train_%s_label.nii.gz' % c).dataobj)
    ok = ok and raw.shape == heart.shape and bool(np.all((heart == 0) | (heart == raw)))
    for v in np.unique(heart[heart > 0]):
        kept = set(map(tuple, np.argwhere(heart == v)))
        ok = ok and component(raw == v, next(iter(kept))) == kept
print('one whole component per structure' if ok else 'differs')"
expect 2 '^coordseg: error: .*--keep-heart.*--keep-largest|^coordseg: error: .*--keep-largest.*--keep-heart' '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred8" --keep-heart --keep-largest
expect 2 '^coordseg: error: --heart-margin.*--keep-heart' '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred8" --heart-margin 3
expect 2 '^coordseg: error: --heart-margin: must be a number of millimetres >= 0$' '' -- \
  "$COORDSEG" predict --model "$TMP/run" --input "$IMG" --out "$TMP/pred8" --keep-heart --heart-margin -1
[[ ! -e "$TMP/pred8" ]] || { echo "FAIL: a refused prediction left a folder"; failed=$((failed + 1)); }
# bench: the three modes on small sizes, their JSON line, and bad requests.
expect 0 '' '^\{"project":"coordseg","mode":"train",.*"sec_per_step":[0-9.e-]+,"patches_per_s":' -- \
  "$COORDSEG" bench train --base 2 --patch 16 --batch 1 --steps 1 --threads 1 --json
expect 0 '' '"mode":"infer",.*"windows":27,' -- \
  "$COORDSEG" bench infer --base 2 --patch 16 --vol 32 32 32 --overlap 0.5 --steps 1 --warmup 0 --threads 1 --json
expect 0 '' '^  phases: preprocess [0-9.]+ s, windows [0-9.]+ s, restore [0-9.]+ s, postprocess [0-9.]+ s$' -- \
  "$COORDSEG" bench infer --base 2 --patch 16 --vol 32 32 32 --tile 32 --steps 1 --warmup 0 --threads 1
expect 0 '' '^  bf16: [0-9.]+ s per call, [0-9.]+ [GT]FLOP/s$' -- \
  "$COORDSEG" bench conv --channels 4 --side 16 --batch 1 --steps 1 --threads 1
expect 2 '^coordseg: error: --steps: must be at least 1$' '' -- "$COORDSEG" bench train --steps 0
expect 2 '^coordseg: error: mode: .*' '' -- "$COORDSEG" bench fly
expect 2 '^coordseg: error: COORDSEG_WEIGHT_GRAD: must be auto, own or torch, got "fast"$' '' -- \
  env COORDSEG_WEIGHT_GRAD=fast "$COORDSEG" bench train --base 2 --patch 16 --batch 1 --steps 1 --threads 1
expect 2 "^coordseg: error: --coord: unknown value 'diagonal'" '' -- "$COORDSEG" bench train --coord diagonal
expect 1 "^coordseg: error: $TMP/none.json: " '' -- "$COORDSEG" bench train --params "$TMP/none.json"
mkdir -p "$TMP/lonely" && cp "$TMP/pred/ct_train_1001_label.nii.gz" "$TMP/lonely/other_case_label.nii.gz"
expect 1 "no reference label map for case other_case" '' -- "$COORDSEG" evaluate --pred "$TMP/lonely" --truth "$TMP/ph"
expect 0 '' "^wrote $TMP/curves.png$" -- "$COORDSEG" plot --run "$TMP/run" --out "$TMP/curves.png"
expect 0 '' 'PNG' -- head -c 4 "$TMP/curves.png"
expect 2 '^coordseg: error: --names: give one name per --run$' '' -- \
  "$COORDSEG" plot --run "$TMP/run" --names a b --out "$TMP/c2.png"

# Writers never overwrite their own inputs, nor an existing file without --force.
sum_before=$(md5sum "$LBL" "$TMP/pred/ct_train_1001_label.nii.gz" "$TMP/curves.png")
expect 2 "^coordseg: error: $LBL: is an input of this command \\(--json would overwrite it\\)$" '' -- \
  "$COORDSEG" evaluate --pred "$TMP/pred" --truth "$TMP/ph" --json "$LBL"
expect 2 "^coordseg: error: $TMP/pred/ct_train_1001_label.nii.gz: is an input of this command" '' -- \
  "$COORDSEG" evaluate --pred "$TMP/pred" --truth "$TMP/ph" --markdown "$TMP/pred/ct_train_1001_label.nii.gz" --force
expect 2 "^coordseg: error: $TMP/e.csv: already exists; pass --force to overwrite$" '' -- \
  "$COORDSEG" evaluate --pred "$TMP/pred" --truth "$TMP/ph" --csv "$TMP/e.csv"
expect 0 '' '^tiny \| ' -- "$COORDSEG" evaluate --pred "$TMP/pred" --truth "$TMP/ph" --name tiny --csv "$TMP/e.csv" --force
expect 2 "^coordseg: error: $TMP/e2.csv: named by both --csv and --json$" '' -- \
  "$COORDSEG" evaluate --pred "$TMP/pred" --truth "$TMP/ph" --csv "$TMP/e2.csv" --json "$TMP/e2.csv"
expect 2 "^coordseg: error: $TMP/curves.png: is an input of this command" '' -- \
  "$COORDSEG" plot --run "$TMP/curves.png" --out "$TMP/curves.png" --force
expect 2 "^coordseg: error: $TMP/curves.png: already exists; pass --force to overwrite$" '' -- \
  "$COORDSEG" plot --run "$TMP/run" --out "$TMP/curves.png"
expect 0 '' "^wrote $TMP/curves.png$" -- "$COORDSEG" plot --run "$TMP/run" --out "$TMP/curves.png" --force
expect 2 "^coordseg: error: $TMP/a.png: already exists; pass --force to overwrite$" '' -- \
  "$COORDSEG" render --image "$IMG" --label "$LBL" --out "$TMP/a.png"
expect 2 "^coordseg: error: $IMG: is an input of this command" '' -- \
  "$COORDSEG" render --image "$IMG" --out "$IMG" --force
[[ "$(md5sum "$LBL" "$TMP/pred/ct_train_1001_label.nii.gz")" == "$(echo "$sum_before" | head -2)" ]] ||
  { echo "FAIL: an input was modified"; failed=$((failed + 1)); }
# A CT image is not a label map; --slices must be positive.
expect 1 "^coordseg: error: $IMG: [0-9]+ distinct values; not a label map \\(at most 64\\)$" '' -- \
  "$COORDSEG" render --image "$IMG" --label "$IMG" --out "$TMP/ct_as_label.png"
expect 2 '^coordseg: error: --slices: must be at least 1, got 0$' '' -- \
  "$COORDSEG" render --image "$IMG" --slices 0 --out "$TMP/s0.png"
# Evaluating a subset of the cases fails, naming them, unless --allow-missing.
mkdir -p "$TMP/half" && cp "$TMP/pred/ct_train_1001_label.nii.gz" "$TMP/half/"
expect 1 "^coordseg: error: $TMP/half: no prediction for 1 of 2 reference cases \\(ct_train_1002\\); pass --allow-missing" '' -- \
  "$COORDSEG" evaluate --pred "$TMP/half" --truth "$TMP/ph"
expect 0 '' '^1 cases' -- "$COORDSEG" evaluate --pred "$TMP/half" --truth "$TMP/ph" --allow-missing

# DICOM series in (written by dicom_probe): listing, conversion checked by nibabel against the
# geometry the series was written with, refusals, the choice among series, and prediction.
if [[ -n $DICOM_PROBE ]]; then
  "$DICOM_PROBE" "$TMP/dcm/axial" axial >"$TMP/axial.json"
  "$DICOM_PROBE" "$TMP/dcm/oblique" oblique >"$TMP/oblique.json"
  "$DICOM_PROBE" "$TMP/dcm/tilt" tilt >/dev/null
  "$DICOM_PROBE" "$TMP/dcm/gap" gap >/dev/null
  "$DICOM_PROBE" "$TMP/dcm/study" study >"$TMP/study.json"
  expect 0 '' '^  DICOM folder: 12 files, 1 image series$' -- "$COORDSEG" info "$TMP/dcm/axial"
  expect 0 '' '^      1  CT            12  24 x 20      0.75 x 0.5 x 2        axial CTA             1\.2\.826\.' -- \
    "$COORDSEG" info "$TMP/dcm/axial"
  expect 0 '' '^  DICOM folder: 21 files, 2 image series \(skipped 1 not DICOM, 0 without pixel data\)$' -- \
    "$COORDSEG" info "$TMP/dcm/study"
  for kind in axial oblique; do
    expect 0 '' "^wrote $TMP/$kind.nii.gz: 24 x 20 x 12 voxels, 0.75 x 0.5 x 2 mm, .*, int16$" -- \
      "$COORDSEG" convert "$TMP/dcm/$kind" "$TMP/$kind.nii.gz"
    expect 0 '' '^same as written$' -- /usr/bin/python3 -c "
import json, numpy as np, nibabel as nib
s = json.load(open('$TMP/$kind.json'))
img = nib.load('$TMP/$kind.nii.gz')
o = np.array(s['orientation']); r, c = o[:3], o[3:]
n = np.cross(r, c)
lps = np.eye(4)
lps[:3, 0], lps[:3, 1], lps[:3, 2] = r * s['column_spacing'], c * s['row_spacing'], n * s['slice_gap']
lps[:3, 3] = s['origin']
ras = np.diag([-1, -1, 1, 1]) @ lps
i, j, k = np.meshgrid(np.arange(s['columns']), np.arange(s['rows']), np.arange(s['slices']), indexing='ij')
want = -1000 + 3 * i + 40 * j + 500 * k
data = np.asarray(img.dataobj)
ok = data.shape == want.shape and np.array_equal(data, want) and np.allclose(img.affine, ras, atol=1e-5)
ok = ok and img.header.get_data_dtype() == np.int16
print('same as written' if ok else 'differ: %s %s' % (img.affine, ras))"
  done
  expect 1 "^coordseg: error: $TMP/dcm/tilt \\(series [0-9.]+\\): slices are sheared against their plane \\(gantry tilt of 11.31 degrees\\); not supported$" '' -- \
    "$COORDSEG" convert "$TMP/dcm/tilt" "$TMP/tilt.nii.gz"
  expect 1 "^coordseg: error: $TMP/dcm/gap \\(series [0-9.]+\\): missing slices: a gap of 4 mm between .* \\(1 slices\\); pass --resample-gaps to interpolate$" '' -- \
    "$COORDSEG" convert "$TMP/dcm/gap" "$TMP/gap.nii.gz"
  [[ ! -e "$TMP/tilt.nii.gz" && ! -e "$TMP/gap.nii.gz" ]] || { echo "FAIL: a refused conversion wrote a file"; failed=$((failed + 1)); }
  expect 0 '' "^wrote $TMP/gap.nii.gz: 24 x 20 x 12 voxels" -- \
    "$COORDSEG" convert "$TMP/dcm/gap" "$TMP/gap.nii.gz" --resample-gaps
  expect 1 "^coordseg: error: $TMP/dcm/study: holds 2 image series; pick one with --series UID or number \\(1: [0-9.]+ \\(CT, 12 slices, 24 x 20, 'arterial'\\); 2: [0-9.]+ \\(CT, 8 slices, 24 x 20, 'venous'\\)\\)$" '' -- \
    "$COORDSEG" convert "$TMP/dcm/study" "$TMP/study.nii.gz"
  expect 2 "^coordseg: error: --series: no image series '7' in $TMP/dcm/study \\(it holds 2; see coordseg info $TMP/dcm/study\\)$" '' -- \
    "$COORDSEG" convert "$TMP/dcm/study" "$TMP/study.nii.gz" --series 7
  expect 0 '' "^wrote $TMP/study.nii.gz: 24 x 20 x 8 voxels" -- \
    "$COORDSEG" convert "$TMP/dcm/study" "$TMP/study.nii.gz" --series 2
  # A folder named like a NIfTI file holding one is that file, for convert as for info.
  mkdir -p "$TMP/archive.nii.gz" && cp "$TMP/axial.nii.gz" "$TMP/archive.nii.gz/inner.nii.gz"
  expect 0 '' "^wrote $TMP/from_archive.nii.gz: 24 x 20 x 12 voxels" -- \
    "$COORDSEG" convert "$TMP/archive.nii.gz" "$TMP/from_archive.nii.gz"
  expect 2 "^coordseg: error: $TMP/x.png: the output must end in .nii or .nii.gz$" '' -- \
    "$COORDSEG" convert "$TMP/dcm/axial" "$TMP/x.png"
  # Prediction on a DICOM folder: one case named after the folder, on exactly the converted grid.
  expect 0 '' "axial_label.nii.gz: [0-9]+ windows" -- \
    "$COORDSEG" predict --model "$TMP/run" --input "$TMP/dcm/axial" --out "$TMP/pred_dcm" --threads 1
  expect 0 '' '^same grid$' -- /usr/bin/python3 -c "
import nibabel as nib, numpy as np
a, b = nib.load('$TMP/axial.nii.gz'), nib.load('$TMP/pred_dcm/axial_label.nii.gz')
print('same grid' if a.shape == b.shape and np.allclose(a.affine, b.affine, atol=1e-5) else 'differ')"
  # A phantom case as a DICOM series: converted back it is the NIfTI image, voxel for voxel and
  # in geometry, and its prediction is the NIfTI image's prediction.
  "$DICOM_PROBE" "$TMP/dcm/ct_train_1001" from-nifti "$IMG" >/dev/null
  expect 0 '' "^wrote $TMP/back.nii.gz: " -- "$COORDSEG" convert "$TMP/dcm/ct_train_1001" "$TMP/back.nii.gz"
  expect 0 '' 'ct_train_1001_label.nii.gz: [0-9]+ windows' -- \
    "$COORDSEG" predict --model "$TMP/run" --input "$TMP/dcm/ct_train_1001" --out "$TMP/pred_dcm_ph" --threads 1
  expect 0 '' '^identical$' -- /usr/bin/python3 -c "
import nibabel as nib, numpy as np
a, b = nib.load('$IMG'), nib.load('$TMP/back.nii.gz')
p, q = nib.load('$TMP/pred/ct_train_1001_label.nii.gz'), nib.load('$TMP/pred_dcm_ph/ct_train_1001_label.nii.gz')
ok = np.array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj)) and np.allclose(a.affine, b.affine, atol=1e-4)
ok = ok and np.array_equal(np.asarray(p.dataobj), np.asarray(q.dataobj)) and np.allclose(p.affine, q.affine, atol=1e-4)
print('identical' if ok else 'differ')"
  expect 1 "^coordseg: error: $TMP/dcm/study: holds 2 image series; pick one" '' -- \
    "$COORDSEG" predict --model "$TMP/run" --input "$TMP/dcm/study" --out "$TMP/pred_study" --threads 1
  [[ ! -e "$TMP/pred_study" ]] || { echo "FAIL: a refused prediction left a folder"; failed=$((failed + 1)); }
  expect 0 '' "study_label.nii.gz: [0-9]+ windows" -- \
    "$COORDSEG" predict --model "$TMP/run" --input "$TMP/dcm/study" --series 1 --out "$TMP/pred_study" --threads 1
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
