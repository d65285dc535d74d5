#!/usr/bin/env bash
# One GPU command (issue 12, item 5; docs/GPU.md): on a machine with JAX (CUDA) and no network,
# from a bundle made by `python tools/gpu_pack.py pack` (token caches, evaluation files, wheels),
#   1. unpack:  the token caches into $QWEM_CACHE_DIR, the evaluation sets into $QWEM_DATA_DIR;
#   2. eigh:    count the statistics (cached for step 4) and time jax.numpy.linalg.eigh of M*;
#   3. bench:   bench/bench_train.py --local --backends jax (pairs/s of every trainer path);
#   4. train:   tools/make_results.py --only train --backend jax: the stored SGD runs, into
#               $OUT/results/ (train.npz and its meta, as data/results/<preset>/ holds them);
#   5. summary: $OUT/gpu_run.json (stages, bench rows, eigh timing, bundle manifest, provenance).
# Usage: OUT=/some/folder bash tools/gpu_run.sh [BUNDLE]        (BUNDLE: default .gpu_bundle)
# Knobs (environment): PYTHON (python3), GPU_RUN_STAGES (eigh,bench,train), GPU_RUN_BENCH_ARGS,
#   GPU_RUN_TRAIN_ARGS (added to make_results), GPU_RUN_EIGH_DTYPES (float32,float64),
#   GPU_RUN_DEADLINE (470 s for the whole run), GPU_RUN_LIMITS ("eigh=150 bench=150": seconds
#   per stage, each also capped by what is left of the deadline), GPU_RUN_WORK (scratch folder).
# Exit status: 0 when every stage that ran succeeded; the failed stages are in gpu_run.json.
set -uo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${1:-.gpu_bundle}
OUT=${OUT:-$PWD/gpu_out}
PY=${PYTHON:-python3}
STAGES=${GPU_RUN_STAGES:-eigh,bench,train}
WORK=${GPU_RUN_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/qwem_gpu.XXXXXX")}
START=$(date +%s)
DEADLINE=${GPU_RUN_DEADLINE:-470}   # seconds for the whole run (8 minutes less the summary's)
declare -A LIMIT=([unpack]=60 [eigh]=150 [bench]=150 [train]=480)
for kv in ${GPU_RUN_LIMITS:-}; do LIMIT[${kv%%=*}]=${kv#*=}; done

mkdir -p "$OUT" "$WORK/cache" "$WORK/data"
OUT=$(cd "$OUT" && pwd)
exec > >(tee -a "$OUT/log.txt") 2>&1
export QWEM_CACHE_DIR=$WORK/cache QWEM_DATA_DIR=$WORK/data QWEM_OFFLINE=1 CI=${CI:-1}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
[ -f "$BUNDLE/MANIFEST.json" ] || { echo "gpu_run: no bundle at $BUNDLE (make one: python tools/gpu_pack.py pack)"; exit 2; }
echo "gpu_run: bundle $BUNDLE, out $OUT, scratch $WORK, stages $STAGES; $(date -u '+%F %T UTC')"
if compgen -G "$BUNDLE/wheels/*.whl" >/dev/null; then   # wheels the machine lacks travel in the bundle
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$WORK/site" "$BUNDLE"/wheels/*.whl || exit 2
  export PYTHONPATH=$WORK/site:$PYTHONPATH
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c "import jax; print('gpu_run: jax', jax.__version__, jax.devices())" || exit 2

stage() {  # stage NAME CMD...: run within min(its limit, what is left of the deadline); log rc and time
  local name=$1 t0 rc lim left; shift
  t0=$(date +%s%N)
  left=$((DEADLINE - ($(date +%s) - START)))
  lim=${LIMIT[$name]:-600}; [ "$left" -lt "$lim" ] && lim=$left
  [ "$lim" -lt 5 ] && lim=5
  echo "=== $name (limit $lim s): $*"
  timeout --kill-after=10 "$lim" "$@"; rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(awk "BEGIN {print ($(date +%s%N) - $t0) / 1e9}")" >>"$WORK/stages.tsv"
  [ "$rc" = 0 ] || echo "gpu_run: stage $name failed (rc $rc)"
  return "$rc"
}
want() { [[ ",$STAGES," == *",$1,"* ]]; }

stage unpack "$PY" tools/gpu_pack.py unpack "$BUNDLE" || { "$PY" tools/gpu_pack.py summary "$BUNDLE" --work "$WORK" --out "$OUT"; exit 1; }
eval "$("$PY" tools/gpu_pack.py env "$BUNDLE")"   # PRESET, MAX_TOKENS, BENCH, BENCH_LOCAL

want eigh && stage eigh "$PY" tools/gpu_pack.py eigh "$BUNDLE" --out "$WORK/eigh.json" \
  --dtypes "${GPU_RUN_EIGH_DTYPES:-float32,float64}"

if want bench && [ "$BENCH" = 1 ]; then
  args=(--backends jax)
  [ "$BENCH_LOCAL" = 1 ] && args+=(--local --no-ci --batch 250000,1000000 --steps 50)
  "$PY" -c "import gensim" 2>/dev/null || args+=(--no-gensim)   # gensim is not on the GPU image
  # shellcheck disable=SC2206
  [ -n "${GPU_RUN_BENCH_ARGS:-}" ] && args=(${GPU_RUN_BENCH_ARGS})
  stage bench bash -c 'set -o pipefail; "$0" bench/bench_train.py "$@" | tee "'"$WORK"'/bench.txt"' "$PY" "${args[@]}"
elif want bench; then
  echo "gpu_run: the bundle holds no bench corpus (packed with --no-bench): bench skipped"
fi

if want train; then
  args=(--scale "$PRESET" --only train --backend jax --out "$OUT/results")
  [ -n "$MAX_TOKENS" ] && args+=(--max-tokens "$MAX_TOKENS")   # the bundle holds a prefix of the corpus
  # shellcheck disable=SC2206
  args+=(${GPU_RUN_TRAIN_ARGS:-})
  stage train "$PY" tools/make_results.py "${args[@]}"
fi

"$PY" tools/gpu_pack.py summary "$BUNDLE" --work "$WORK" --out "$OUT" \
  --command "bash tools/gpu_run.sh $BUNDLE (stages $STAGES)"
! grep -qv $'\t0\t' "$WORK/stages.tsv"
