#!/usr/bin/env bash
# Data-parallel training from the command line (issue 11), on CPU ranks with Gloo over
# loopback: `train --nproc`, `launch`, workers started by another launcher, and the ways a run
# of several processes fails (a lone worker, a killed rank, a busy port, wrong options).
# usage: data_parallel_test.sh PATH/TO/coordseg
set -u
COORDSEG=$1
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
passed=0
failed=0

check() {  # check NAME CONDITION-STATUS
  if [[ $2 -eq 0 ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $1"
    echo "--- stdout"; tail -20 out 2>/dev/null; echo "--- stderr"; tail -20 err 2>/dev/null
  fi
}

# The processes whose parent is $1, in pid order (from /proc: procps may not be installed).
children_of() {
  local stat
  for stat in /proc/[0-9]*/stat; do
    awk -v p="$1" '{ sub(/^.*\) /, ""); if ($2 == p) print FILENAME }' "$stat" 2>/dev/null
  done | sed 's|/proc/\([0-9]*\)/stat|\1|' | sort -n
}

# A port that was free a moment ago.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$COORDSEG" phantom --out data --cases 4 --seed 21 --generation 1 >/dev/null || { echo "FAIL: phantom"; exit 1; }
cat > tiny.json <<'JSON'
{"BASE_FILTERS": 4, "DEPTH": 2, "PATCH_DIM": 16, "TARGET_SPACING": 6, "BATCH_SIZE": 1, "TRAIN_PATCH_NUM": 3,
 "VALID_PATCH_NUM": 4, "VALID_CASES": 1, "EPOCHS": 2, "LEARNINGRATE": 0.01, "NORMALIZATION": "instance",
 "LOSS": "ce", "THREADS": 1, "COORD": "global"}
JSON

# 1. Two CPU ranks of batch 1 train as one process of batch 2: the same losses and Dice per
#    epoch (cross-entropy is a mean over samples), the ranks bit-identical, one "trained" line.
"$COORDSEG" train --params tiny.json --data data --out two --nproc 2 >out 2>err
rc=$?
[[ $rc -eq 0 && ! -s err ]]; check "train --nproc 2 exits 0 quietly (rc $rc)" $?
grep -q '^data-parallel: 2 ranks (gloo, rendezvous 127.0.0.1:[0-9]*); BATCH_SIZE 1 per rank, 2 patches per step in all$' out
check "the log names the ranks and the batch per rank" $?
[[ $(grep -c '^data-parallel: weights bit-identical on all 2 ranks after epoch [12] (digest [0-9a-f]\{16\})$' out) -eq 2 ]]
check "both epochs end with bit-identical ranks" $?
[[ $(grep -c '^trained 2 epochs' out) -eq 1 ]]; check "rank 0 alone reports" $?
"$COORDSEG" train --params tiny.json --data data --out one --batch-size 2 >/dev/null 2>&1
# epoch, train_loss, val_loss, seven Dice, mean Dice: equal to 4 significant digits.
cut -d, -f1-11 one/history.csv | awk -F, 'NR>1{for(i=2;i<=NF;i++) printf "%.4g ", $i; print ""}' >one.rows
cut -d, -f1-11 two/history.csv | awk -F, 'NR>1{for(i=2;i<=NF;i++) printf "%.4g ", $i; print ""}' >two.rows
[[ -s one.rows ]] && cmp -s one.rows two.rows; check "2 ranks x batch 1 = 1 process x batch 2 (history)" $?
grep -q '"ranks": 2' two/info.json; check "info.json records the ranks" $?

# 2. The same through `coordseg launch`, resuming that run with another number of ranks.
"$COORDSEG" launch --nproc-per-node 2 -- train --resume two --data data --epochs 3 >out 2>err
rc=$?
[[ $rc -eq 0 ]] && grep -q '^resuming two after epoch 2$' out && grep -q '^epoch 3/3 ' out
check "launch resumes a run with 2 ranks (rc $rc)" $?
"$COORDSEG" train --resume two --data data --epochs 4 >out 2>err && grep -q '^epoch 4/4 ' out && ! grep -q data-parallel out
check "and one process goes on from it" $?

# A process group of one, as torchrun --nproc-per-node 1 makes (how NCCL is checked on one GPU).
"$COORDSEG" launch --nproc-per-node 1 -- train --params tiny.json --data data --out solo --epochs 1 >out 2>err
rc=$?
[[ $rc -eq 0 ]] && grep -q '^data-parallel: 1 rank (gloo, rendezvous 127.0.0.1:[0-9]*); BATCH_SIZE 1 per rank, 1 patch per step in all$' out
check "launch with one rank (rc $rc)" $?

# 3. A lone worker of a run of two gives up within --dist-timeout with one line.
port=$(free_port)
start=$SECONDS
RANK=1 WORLD_SIZE=2 MASTER_PORT=$port "$COORDSEG" train --params tiny.json --data data --out lone --dist-timeout 3 \
  >out 2>err
rc=$?
[[ $rc -eq 1 && $((SECONDS - start)) -le 15 && $(wc -l <err) -eq 1 ]] &&
  grep -q "^coordseg: error: rank 1: rendezvous at 127.0.0.1:$port: " err && [[ ! -e lone ]]
check "a lone worker fails within the timeout (rc $rc, $((SECONDS - start)) s)" $?

# 4. A killed rank: the launcher reports it, rank 0 stops at its next all-reduce with one line,
#    well within --dist-timeout, and leaves no half-written file.
"$COORDSEG" launch --nproc-per-node 2 -- train --params tiny.json --data data --out killed --epochs 1000 \
  --dist-timeout 60 >out 2>err &
launcher=$!
for _ in $(seq 200); do grep -q '^epoch 1/' out 2>/dev/null && break; sleep 0.1; done
rank1=
for child in $(children_of $launcher); do
  tr '\0' '\n' <"/proc/$child/environ" | grep -qx 'RANK=1' && rank1=$child
done
start=$SECONDS
kill -9 "$rank1"
wait $launcher
rc=$?
[[ $rc -ne 0 && $((SECONDS - start)) -le 20 ]] &&
  grep -q "^coordseg: error: rank 1 (pid $rank1) was killed by signal 9 " err &&
  grep -q '^coordseg: error: data-parallel all-reduce: ' err && [[ $(wc -l <err) -eq 2 ]] &&
  [[ -z $(find killed -name '*.tmp*') && -f killed/last.pt ]]
check "a killed rank stops the run (rc $rc, $((SECONDS - start)) s)" $?

# 5. Usage errors, each one line with exit 2.
expect_usage() {  # expect_usage NAME STDERR-REGEX command...
  local name=$1 re=$2
  shift 2
  "$@" >out 2>err
  local rc=$?
  [[ $rc -eq 2 && $(wc -l <err) -eq 1 ]] && grep -Eq -- "$re" err
  check "$name (rc $rc)" $?
}
python3 -c 'import socket,time; s=socket.socket(); s.bind(("0.0.0.0", 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' >busy &
for _ in $(seq 50); do [[ -s busy ]] && break; sleep 0.1; done
busy=$(cat busy)
expect_usage "a busy port" "^coordseg: error: --master-port: port $busy is in use on this machine" \
  "$COORDSEG" launch --nproc-per-node 2 --master-port "$busy" -- train --params tiny.json --data data --out busy-run
kill %% 2>/dev/null
expect_usage "only train runs data-parallel" "^coordseg: error: launch: only \`train\` runs data-parallel; got 'info'" \
  "$COORDSEG" launch --nproc-per-node 2 -- info x.nii.gz
expect_usage "--gpus without CUDA" '^coordseg: error: --gpus: this run is on the CPU' \
  "$COORDSEG" train --params tiny.json --data data --out g --gpus 0,1 --device cpu
expect_usage "--nproc inside torchrun" '^coordseg: error: --nproc: this process is already rank 0 of 2 \(started by torchrun\)' \
  env RANK=0 WORLD_SIZE=2 "$COORDSEG" train --params tiny.json --data data --out n --nproc 2
expect_usage "a bad --backend" "^coordseg: error: --backend: expected auto, gloo or nccl, got 'mpi'" \
  "$COORDSEG" train --params tiny.json --data data --out b --nproc 2 --backend mpi
expect_usage "nccl on CPU" '^coordseg: error: --backend: nccl needs CUDA tensors; on CPU use gloo' \
  "$COORDSEG" train --params tiny.json --data data --out b --nproc 2 --backend nccl --device cpu
expect_usage "a run folder in use is refused before any rank starts" '^coordseg: error: two: run folder already holds files' \
  "$COORDSEG" train --params tiny.json --data data --out two --nproc 2

# 6. MULTI_GPU on a machine without CUDA: its note, and one process.
sed 's/"EPOCHS": 2/"EPOCHS": 1, "MULTI_GPU": ["6", "7"]/' tiny.json >gpus.json
"$COORDSEG" train --params gpus.json --data data --out gpus --device cpu >out 2>err
rc=$?
[[ $rc -eq 0 ]] && grep -q '^note: MULTI_GPU lists 2 GPUs; ignored on CPU$' out && ! grep -q 'data-parallel' out
check "MULTI_GPU on CPU: the note, one process (rc $rc)" $?

echo "data-parallel CLI: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
