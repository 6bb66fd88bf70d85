#!/usr/bin/env bash
# The device check of issue 20 §5: one command, one CUDA GPU, no network, under 9 minutes (it stops itself
# at DEADLINE_S, default 500 s). Run from anywhere; it works in the checkout it lives in. docs/gpu.md says
# what each stage measures and how to carry the wheels.
#
#   bash benchmarks/gpu_check.sh                   # every stage; results in $OUT (default /tmp/xlqa-gpu-check)
#   bash benchmarks/gpu_check.sh --dry-run         # on a CPU box: the plan, the wheels, the CPU smoke of
#                                                  # bench_gpu.py; every CUDA stage skipped with the reason
#   STAGES="bench" bash benchmarks/gpu_check.sh    # some stages only (install cuda-tests bench e2e)
#
# Stages, in order: install (the carried wheels, then the project without its dependencies), cuda-tests
# (pytest -m cuda, XLQA_REQUIRE_CUDA=1), bench (GEMM peak, throughput and MFU, stage-2 estimate, host syncs:
# benchmarks/bench_gpu.py), e2e (a launched bf16 distillation killed with SIGKILL and resumed, rows against an
# uninterrupted run, with and without train.deterministic; the sys_gpu_* rows).
# $OUT gets at most 5 files: summary.txt, gpu_check.log, env.txt, bench_gpu.json, e2e.json.
set -u -o pipefail
DRY=0
for arg in "$@"; do
  case $arg in
    --dry-run) DRY=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
T0=$(date +%s)
DEADLINE=${DEADLINE_S:-500}
STAGES=${STAGES:-"install cuda-tests bench e2e"}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WHEELS=${XLQA_WHEELS:-$ROOT/.gpu/wheels}
OUT=${OUT:-/tmp/xlqa-gpu-check}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
LOG=$OUT/gpu_check.log SUMMARY=$OUT/summary.txt
: >"$LOG"; : >"$SUMMARY"
cd "$ROOT"
# no network: nothing may try the hub; the project's imports come from this checkout whatever pip manages
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MPLBACKEND=Agg PIP_BREAK_SYSTEM_PACKAGES=1
SITE=${TMPDIR:-/tmp}/xlqa-gpu-site
export PYTHONPATH=$ROOT:$SITE${PYTHONPATH:+:$PYTHONPATH}

say() { echo "$*" | tee -a "$SUMMARY"; }
left() { echo $(( DEADLINE - ($(date +%s) - T0) )); }
want() { case " $STAGES " in *" $1 "*) return 0 ;; esac; return 1; }
FAILED=0
# stage NAME NEEDS_CUDA NEED_S LIMIT_S command...: skipped with the reason when CUDA is missing or fewer than
# NEED_S seconds are left; never runs past the deadline (timeout kills the stage's whole process group)
stage() {
  local name=$1 cuda=$2 need=$3 limit=$4; shift 4
  want "$name" || return 0
  if [ "$cuda" = 1 ] && [ "$DRY" = 1 ]; then say "SKIP  $name: --dry-run (needs a CUDA GPU)"; return 0; fi
  if [ "$cuda" = 1 ] && [ "$HAVE_CUDA" != 1 ]; then say "SKIP  $name: no CUDA device ($CUDA_WHY)"; FAILED=1; return 0; fi
  local l; l=$(left)
  if [ "$l" -lt "$need" ]; then say "SKIP  $name: ${l}s left of ${DEADLINE}s, it needs ${need}s"; FAILED=1; return 0; fi
  [ "$limit" -gt $((l - 5)) ] && limit=$((l - 5))
  echo "=== $name (limit ${limit}s, $(( $(date +%s) - T0 ))s elapsed) ===" | tee -a "$LOG"
  local t; t=$(date +%s)
  if declare -F "$1" >/dev/null; then   # a function of this script: timeout runs programs, so a bash that has it
    timeout -k 10 "$limit" bash -c "$*" 2>&1 | tee -a "$LOG"
  else
    timeout -k 10 "$limit" "$@" 2>&1 | tee -a "$LOG"
  fi
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || FAILED=1
  say "STAGE $name rc=$rc $(( $(date +%s) - t ))s$([ "$rc" = 124 ] && echo " (timed out at ${limit}s)")"
}

install() {
  if ! ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    echo "no wheels in $WHEELS: using what the image has (docs/gpu.md: how to carry them)"
  else
    # what the project needs, resolved against the image's packages; when that fails (a dependency in
    # neither, a read-only site-packages), every carried wheel without dependencies into $SITE, which is on
    # PYTHONPATH (the import check below then names whatever is still missing)
    "$PY" -m pip install -q --no-cache-dir --no-index --find-links "$WHEELS" \
        datasets sqlalchemy alembic mako tomli_w dill multiprocess \
      || "$PY" -m pip install -q --no-cache-dir --no-index --no-deps --upgrade --target "$SITE" "$WHEELS"/*.whl \
      || return 1
  fi
  # the project itself, editable and without dependencies (no build isolation: no index to fetch setuptools
  # from); when that fails the checkout still imports through PYTHONPATH
  "$PY" -m pip install -q --no-cache-dir --no-index --no-deps --no-build-isolation -e . \
    || echo "editable install failed: importing the checkout through PYTHONPATH"
  "$PY" - <<'PY'
import importlib
missing = []
for name in ("torch", "transformers", "accelerate", "datasets", "sqlalchemy", "alembic", "tomli_w", "click", "rich",
             "psutil", "pytest", "engine.pipeline", "engine.cli", "db"):
    try:
        importlib.import_module(name)
    except Exception as e:  # noqa: BLE001 - listed, then the stage fails
        missing.append(f"{name} ({type(e).__name__}: {e})")
try:
    import pynvml  # noqa: F401 - optional: without it the scheduler reads nvidia-smi
except ImportError:
    print("note: no nvidia-ml-py (pynvml): device choice falls back to nvidia-smi, sysmon writes no sys_gpu_* rows")
print("imports:", "all there" if not missing else "MISSING " + "; ".join(missing))
raise SystemExit(1 if missing else 0)
PY
}

cuda_tests() {   # the files that mark a test cuda (the dashboard's tests need packages the image lacks)
  local files; files=$(grep -rl --include='test_*.py' 'pytest.mark.cuda' tests)
  # in this process (`-o addopts=`: no pytest-xdist `-n`, which the image may not have)
  XLQA_REQUIRE_CUDA=1 "$PY" -m pytest -q -rs -p no:cacheprovider -o addopts= -m cuda $files
}

versions() {
  {
    echo "date: $(date -u +%FT%TZ)  commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    nvidia-smi --query-gpu=index,name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | head -5
    "$PY" - <<'PY'
import importlib.metadata as md, sys
names = ["torch", "transformers", "accelerate", "datasets", "sqlalchemy", "nvidia-ml-py", "pytest"]
print("python", sys.version.split()[0], *(f"{n} {md.version(n)}" if n in {d.metadata['Name'].lower() for d in md.distributions()} else f"{n} -" for n in names))
PY
  } >"$OUT/env.txt" 2>&1
}

export -f install cuda_tests
export WHEELS PY SITE
say "xlqa device check: $ROOT, stages '$STAGES', deadline ${DEADLINE}s$([ "$DRY" = 1 ] && echo ', dry run')"
if [ "$DRY" = 1 ]; then
  say "wheels: $(ls "$WHEELS"/*.whl 2>/dev/null | wc -l) in $WHEELS ($(du -sh "$WHEELS" 2>/dev/null | cut -f1 || echo none)); not installed in a dry run"
  versions
else
  stage install 0 30 120 install
  versions
fi
CUDA_WHY=$("$PY" -c 'import torch; print("ok" if torch.cuda.is_available() else f"torch {torch.__version__} sees none")' 2>&1 | tail -1)
HAVE_CUDA=$([ "$CUDA_WHY" = ok ] && echo 1 || echo 0)

stage cuda-tests 1 30 90 cuda_tests
stage bench 1 90 260 "$PY" benchmarks/bench_gpu.py --out "$OUT"
stage e2e 1 60 260 "$PY" benchmarks/bench_gpu.py --stages e2e --out "$OUT"
if [ "$DRY" = 1 ] && want bench; then   # what a CPU can show: the measurements' code runs end to end, tiny
  DRY_OUT=$(mktemp -d) STAGES="$STAGES bench-smoke"
  stage bench-smoke 0 20 120 "$PY" benchmarks/bench_gpu.py --device cpu --smoke --out "$DRY_OUT"
  rm -rf "$DRY_OUT"
fi
for f in bench_gpu.json e2e.json; do   # the measurements' summary lines, with the §6 targets beside them
  [ -f "$OUT/$f" ] && "$PY" -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["summary"]))' \
    "$OUT/$f" >>"$SUMMARY"
done
echo
echo "================ summary ($(( $(date +%s) - T0 ))s, $OUT) ================"
cat "$SUMMARY"
exit $FAILED
