#!/usr/bin/env bash
# A digest of the whole flow's outputs, for checking that a refactoring changes no output:
# run it with the binary before and after, then diff the two digest.txt files.
#   scripts/flow-digest.sh OLD/coordseg /tmp/before; scripts/flow-digest.sh build/app/coordseg /tmp/after
#   diff /tmp/before/digest.txt /tmp/after/digest.txt
# Covers: phantom, train with full validation, elastic and mirroring, resume, predict plain and
# with --tta --keep-largest --probabilities, evaluate, and one bf16 epoch; global and local
# CoordConv. Timings are left out; about 1 minute on 2 cores. Binaries from before issue 13
# draw phantom generation 1: give the newer one PHANTOM_ARGS="--generation 1" to compare.
set -euo pipefail
C=$(realpath "$1"); O=$(realpath -m "$2")
rm -rf $O; mkdir -p $O
$C phantom --out $O/data --cases 5 --seed 3 --threads 2 ${PHANTOM_ARGS:-} > /dev/null
$C phantom --out $O/held --cases 2 --seed 99 --threads 2 ${PHANTOM_ARGS:-} > /dev/null
for kind in global local; do
cat > $O/p_$kind.json <<J
{"NAME":"G","PATCH_DIM":32,"TARGET_SPACING":4.0,"TRAIN_PATCH_NUM":2,"VALID_PATCH_NUM":4,"BATCH_SIZE":2,"EPOCHS":3,
 "OPTIMIZER":"adam","LEARNINGRATE":0.003,"NORMALIZATION":"instance","ACTIVATION":"leakyrelu","BASE_FILTERS":4,"DEPTH":3,
 "COORD":"$kind","OVERLAP_FACTOR":2,"SCHEDULE":"poly","LOSS":"dice_ce","VALID_CASES":1,"SEED":5,"FULL_VALID_EVERY":1,
 "LOADER_THREADS":2,"THREADS":2,"GRAD_CLIP":1.0,"AUG_ELASTIC":0.3,"AUG_MIRROR":0.2}
J
$C train --params $O/p_$kind.json --data $O/data --out $O/run_$kind --epochs 2 > $O/train_$kind.log
$C train --resume $O/run_$kind --data $O/data --epochs 3 >> $O/train_$kind.log
$C predict --model $O/run_$kind --input $O/held/ct_train --out $O/pred_$kind --threads 2 > /dev/null
$C predict --model $O/run_$kind --input $O/held/ct_train --out $O/predx_$kind --tta --keep-largest --probabilities --threads 2 > /dev/null
$C evaluate --pred $O/pred_$kind --truth $O/held --csv $O/eval_$kind.csv > $O/eval_$kind.txt; $C evaluate --pred $O/predx_$kind --truth $O/held --csv $O/evalx_$kind.csv > /dev/null
done
# bf16 one epoch
$C train --params $O/p_global.json --data $O/data --out $O/run_bf16 --epochs 1 --amp bf16 > $O/train_bf16.log
$C predict --model $O/run_bf16 --input $O/held/ct_train --out $O/pred_bf16 --amp bf16 --threads 2 > /dev/null
# digest: everything but timings
cd $O
{
for f in run_*/history.csv; do echo "== $f"; cut -d, -f1-12 $f; done
for f in run_*/full_validation.csv; do echo "== $f"; cat $f; done
for f in run_*/config.json; do echo "== $f"; cat $f; done
for f in train_*.log; do echo "== $f"; grep -v "^epoch\|^trained" $f | sed 's/[0-9.]* s (waited.*//'; grep "^epoch" $f | sed 's/  [0-9.]* s (waited.*//'; done
md5sum pred*/*.nii.gz
cat eval_*.csv
} | sed "s|$O|<out>|g" > digest.txt
