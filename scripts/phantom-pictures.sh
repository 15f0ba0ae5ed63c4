#!/usr/bin/env bash
# Redraws the generation-2 phantom pictures in docs/images: a full-preset CT case in the
# arterial phase through the great vessels (axial through PUA, coronal and sagittal through
# ASA), one in the pulmonary phase, and a full-preset MR case, each with its labels.
#   scripts/phantom-pictures.sh [COORDSEG] [OUT_DIR]
set -euo pipefail
C=${1:-build/app/coordseg}
OUT=${2:-docs/images}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$C" phantom --out "$TMP/ct" --preset full --cases 6 --seed 13 >/dev/null
"$C" phantom --out "$TMP/mr" --preset full --modality mr --cases 1 --seed 13 >/dev/null
# The first case of each phase, from the facts table (column 3).
first() { awk -F, -v p="$1" 'NR > 1 && $3 == p { print $1; exit }' "$TMP/ct/phantom_facts.csv"; }
arterial=$(first arterial)
pulmonary=$(first pulmonary)
[[ -n $arterial && -n $pulmonary ]] || { echo "phantom-pictures: seed 13 lacks a phase; choose another" >&2; exit 1; }
draw() {  # case-dir case axis through slices out
  "$C" render --image "$1/$2_image.nii.gz" --label "$1/$2_label.nii.gz" --axis "$3" --through "$4" --slices "$5" \
    --titles "$6" --out "$OUT/$7" --force >/dev/null
}
draw "$TMP/ct/ct_train" "$arterial" axial 850 3 "CT, ARTERIAL" phantom2_ct_axial.png
draw "$TMP/ct/ct_train" "$arterial" coronal 820 3 "CT, ARTERIAL" phantom2_ct_coronal.png
draw "$TMP/ct/ct_train" "$arterial" sagittal 820 3 "CT, ARTERIAL" phantom2_ct_sagittal.png
draw "$TMP/ct/ct_train" "$pulmonary" axial 850 2 "CT, PULMONARY" phantom2_ct_pulmonary_axial.png
draw "$TMP/mr/mr_train" mr_train_1001 axial 850 2 "MR" phantom2_mr_axial.png
echo "wrote $OUT/phantom2_{ct_axial,ct_coronal,ct_sagittal,ct_pulmonary_axial,mr_axial}.png ($arterial, $pulmonary, mr_train_1001)"
