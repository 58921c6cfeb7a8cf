#!/usr/bin/env bash
# Idempotent installer: creates .venv/ at the repo root with the pinned OpenMMLab stack.
#   bash tools/install.sh          # install (seconds when already done)
#   FORCE=1 bash tools/install.sh  # redo every step
# The compiled mmcv wheel is cached outside the repo, keyed by python/torch/mmcv versions:
#   ${REXNET_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rexnet_mm}/wheels/<key>/
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMENGINE_VERSION=0.10.7
MMCV_VERSION=2.1.0
MMDET_VERSION=3.3.0
MMSEG_VERSION=1.2.2
MMPRETRAIN_VERSION=1.2.0
SETUPTOOLS_SPEC='setuptools>=77.0.3,<82'
NUMPY_SPEC='numpy<2'
# Anything that changes what gets installed must change this stamp.
STAMP_TEXT="torch=$TORCH_VERSION tv=$TORCHVISION_VERSION mmengine=$MMENGINE_VERSION mmcv=$MMCV_VERSION mmdet=$MMDET_VERSION mmseg=$MMSEG_VERSION mmpretrain=$MMPRETRAIN_VERSION $SETUPTOOLS_SPEC $NUMPY_SPEC setup=$(cksum < "$ROOT/setup.py" | cut -d' ' -f1) v3"
STAMP="$VENV/.rexnet_mm_installed"

T0=$(date +%s)
say() { printf '[install %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -z "${FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_TEXT" ]] \
   && "$VENV/bin/python" -c "import rexnet_mm, mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models, timm" 2>/dev/null; then
  say "environment $VENV is up to date (delete it or set FORCE=1 to reinstall)"
  exit 0
fi

command -v "$PY" >/dev/null || die "no $PY on PATH: install Python 3.11 (torch $TORCH_VERSION wheels here are cp311)"
PYVER=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
[[ "$PYVER" == "3.11" ]] || say "warning: Python $PYVER; the pinned torch/mmcv combination was validated on 3.11"

if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating virtual environment $VENV"
  "$PY" -m venv "$VENV" || die "python -m venv failed (Debian: apt-get install python3-venv)"
fi
VPY="$VENV/bin/python"
PIP=("$VPY" -m pip install --disable-pip-version-check --progress-bar off)

say "step 1/6: build tools ($SETUPTOOLS_SPEC: torch $TORCH_VERSION needs >=77.0.3, mmcv/mmengine need pkg_resources, gone in 82), ninja, wheel"
"${PIP[@]}" -q --upgrade pip "$SETUPTOOLS_SPEC" wheel ninja "$NUMPY_SPEC" || die "could not install build tools from PyPI"

say "step 2/6: torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
"${PIP[@]}" -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "$NUMPY_SPEC" \
  || die "could not install torch $TORCH_VERSION / torchvision $TORCHVISION_VERSION"
"${PIP[@]}" -q "mmengine==$MMENGINE_VERSION" "$SETUPTOOLS_SPEC" "$NUMPY_SPEC" || die "could not install mmengine $MMENGINE_VERSION"

# ---- mmcv: compiled with ops against this exact torch, cached outside the repo -------------------
# The 77 CPU op sources compile as a few "unity" units (tools/mmcv_unity.py: the same code,
# torch's headers parsed 4 times instead of 77); MMCV_FAST_BUILD=0 uses mmcv's own build.
MMCV_SDIST_SHA256=d387bcab66b467479b6660310e23746cfc79c6e57acf04094680adb499a5cd3f
MMCV_UNITS=4

prepare_mmcv_source() {  # fresh copy of the sdist in $BUILD/$1, C++20 edit applied
  rm -rf "${BUILD:?}/$1" && mkdir -p "$BUILD/$1"
  tar -xzf "$SDIST" -C "$BUILD/$1"
  local src="$BUILD/$1/mmcv-$MMCV_VERSION"
  # torch >= 2.10 headers require C++20; mmcv 2.1.0 hard-codes c++17.
  grep -q -- '-std=c++17' "$src/setup.py" || die "mmcv setup.py no longer contains -std=c++17; review the patch"
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  echo "$src"
}

compile_mmcv() {  # compile_mmcv SRC LOG: wheel into SRC/dist, progress every unit or minute
  (
    cd "$1"
    unset FORCE_CUDA FORCE_MLU FORCE_NPU
    export MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" PIP_NO_CACHE_DIR=1
    exec "$VPY" -m pip wheel -v --no-deps --no-build-isolation --no-cache-dir . -w "$1/dist"
  ) > "$2" 2>&1 &
  local pid=$! shown="" beat=$SECONDS progress
  while kill -0 "$pid" 2>/dev/null; do
    sleep 3
    # ninja prints "[done/total] command" as each compile finishes
    progress=$(grep -oE '^\s*\[[0-9]+/[0-9]+\]' "$2" | tail -n 1 | tr -d '[]' || true)
    if [[ "$progress" != "$shown" ]] || (( SECONDS - beat >= 60 )); then
      say "          mmcv: ${progress:-0/?} compiled"
      shown=$progress beat=$SECONDS
    fi
  done
  wait "$pid"
}

TORCH_REAL=$("$VPY" -c 'import torch; print(torch.__version__.split("+")[0])')
CACHE_ROOT="${REXNET_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rexnet_mm}"
KEY="py${PYVER}-torch${TORCH_REAL}-mmcv${MMCV_VERSION}-ops"
WHEEL_DIR="$CACHE_ROOT/wheels/$KEY"
mkdir -p "$WHEEL_DIR"

if "$VPY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null && [[ -z "${FORCE:-}" ]]; then
  say "step 3/6: mmcv $MMCV_VERSION with ops already installed"
else
  WHEEL=$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$WHEEL" ]]; then
    BUILD=$(mktemp -d)
    trap 'rm -rf "$BUILD"' EXIT
    say "step 3/6: compiling mmcv $MMCV_VERSION with ops (MMCV_WITH_OPS=1, no build isolation, -std=c++20);"
    say "          done once per python/torch/mmcv combination, then reused from $WHEEL_DIR"
    "$VPY" -m pip download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$BUILD" \
      || die "could not download the mmcv $MMCV_VERSION sdist from PyPI"
    SDIST="$BUILD/mmcv-$MMCV_VERSION.tar.gz"
    [[ "$(sha256sum "$SDIST" | cut -d' ' -f1)" == "$MMCV_SDIST_SHA256" ]] \
      || die "the downloaded mmcv $MMCV_VERSION sdist is not the one PyPI published (sha256 differs): delete $SDIST's source and retry"
    if [[ "${MMCV_FAST_BUILD:-1}" != 0 ]] \
       && ! "$VPY" -c 'import torch, sys; sys.exit(torch.cuda.is_available())' 2>/dev/null; then
      say "          CUDA is available: mmcv's CUDA build, file by file (the unity build covers the CPU-only build)"
      MMCV_FAST_BUILD=0
    fi
    WHEEL=""
    if [[ "${MMCV_FAST_BUILD:-1}" != 0 ]]; then
      SRC=$(prepare_mmcv_source unity)
      PLAN=$("$VPY" "$ROOT/tools/mmcv_unity.py" "$SRC" --units "$MMCV_UNITS" 2>&1) \
        || die "$PLAN; MMCV_FAST_BUILD=0 compiles them file by file (about 25 min)"
      say "          $PLAN"
      if compile_mmcv "$SRC" "$BUILD/unity.log"; then
        WHEEL=$(ls "$SRC"/dist/mmcv-"$MMCV_VERSION"-*.whl)
      else
        tail -n 20 "$BUILD/unity.log" >&2
        say "          WARNING: the unity build failed (log above); falling back to mmcv's own file-by-file build (about 25 min)"
      fi
    fi
    if [[ -z "$WHEEL" ]]; then
      SRC=$(prepare_mmcv_source stock)
      compile_mmcv "$SRC" "$BUILD/stock.log" \
        || { tail -n 40 "$BUILD/stock.log" >&2; die "mmcv compile failed (log above)"; }
      WHEEL=$(ls "$SRC"/dist/mmcv-"$MMCV_VERSION"-*.whl)
    fi
    cp "$WHEEL" "$WHEEL_DIR/.tmp.whl"
    WHEEL="$WHEEL_DIR/$(basename "$WHEEL")"
    mv "$WHEEL_DIR/.tmp.whl" "$WHEEL"
    say "          mmcv wheel cached at $WHEEL"
  else
    say "step 3/6: reusing cached mmcv wheel $WHEEL"
  fi
  "${PIP[@]}" -q --force-reinstall --no-deps "$WHEEL" || die "could not install $WHEEL"
  "${PIP[@]}" -q "$WHEEL" "$NUMPY_SPEC" "$SETUPTOOLS_SPEC" || die "could not install mmcv's dependencies"
  "$VPY" -c "import mmcv.ops" || die "mmcv.ops does not import: delete $WHEEL_DIR and rerun"
fi

say "step 4/6: mmdet $MMDET_VERSION, mmsegmentation $MMSEG_VERSION (+ftfy, regex), mmpretrain $MMPRETRAIN_VERSION, pycocotools, timm"
"${PIP[@]}" -q "mmdet==$MMDET_VERSION" "mmsegmentation==$MMSEG_VERSION" ftfy regex "mmpretrain==$MMPRETRAIN_VERSION" \
  pycocotools timm "mmcv==$MMCV_VERSION" "torch==$TORCH_VERSION" "$NUMPY_SPEC" "$SETUPTOOLS_SPEC" \
  || die "could not install the OpenMMLab toolboxes"

say "step 5/6: rexnet_mm (editable) with test extras"
"${PIP[@]}" -q -e "$ROOT[tests]" "$NUMPY_SPEC" "$SETUPTOOLS_SPEC" || die "could not install rexnet_mm"

say "step 6/6: checking imports"
"$VPY" -c "import rexnet_mm, mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models, timm, torch; print('torch', torch.__version__, '| mmcv', __import__('mmcv').__version__, '| mmdet', __import__('mmdet').__version__, '| mmseg', __import__('mmseg').__version__, '| mmpretrain', __import__('mmpretrain').__version__, '| timm', timm.__version__)" \
  || die "import check failed"
echo "$STAMP_TEXT" > "$STAMP"
say "done"
