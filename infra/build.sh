#!/usr/bin/env bash
# `make build`: sam build without Docker, then the sizes against Lambda's 250 MB limit, the
# packaged template against CloudFormation's inline limit and the zipped runtime layer
# against Lambda's direct-upload limit (infra/package_sizes.py).
#
#   infra/build.sh              # x86_64
#   ARCH=arm64 infra/build.sh   # Graviton: arm64 wheels, Architecture=arm64
#
# Installs aws-sam-cli into .tools/sam on first use, puts the example model into the model
# layer when it holds no version, lints the template, builds, and smoke-tests an x86_64
# build with CPython 3.12 (infra/smoke.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

SAM_CLI_VERSION=1.170.0
SAM_VENV=.tools/sam
SAM="$SAM_VENV/bin/sam"
BUILD_DIR=.aws-sam/build
MODEL_LAYER=layers/models
LIMIT_BYTES=$((250 * 1024 * 1024)) # unzipped: function code plus all its layers
export SAM_CLI_TELEMETRY=0

say() { printf '==> %s\n' "$*"; }

ensure_sam() {
  if [[ -x "$SAM" ]] && "$SAM" --version 2>/dev/null | grep -qx "SAM CLI, version $SAM_CLI_VERSION"; then
    return
  fi
  say "installing aws-sam-cli==$SAM_CLI_VERSION into $SAM_VENV (its own virtualenv: it pins its own boto3)"
  rm -rf "$SAM_VENV"
  "${SAM_PYTHON:-python3}" -m venv "$SAM_VENV"
  "$SAM_VENV/bin/python" -m pip install --quiet "aws-sam-cli==$SAM_CLI_VERSION"
}

has_model() {
  compgen -G "$MODEL_LAYER/models/*/*/manifest.json" >/dev/null
}

ensure_model() {
  mkdir -p "$MODEL_LAYER" # the layer's ContentUri must exist even while it holds no model
  if has_model; then
    say "model layer: $(cd "$MODEL_LAYER/models" && ls -d -- */* | tr '\n' ' ')"
    return
  fi
  if ! .venv/bin/layerserve example --help >/dev/null 2>&1; then
    say "model layer: empty, and 'layerserve example' is not available; package a model with"
    say "  .venv/bin/layerserve package MODEL.onnx --name NAME --version VERSION --out $MODEL_LAYER"
    return
  fi
  local scratch
  scratch="$(mktemp -d)"
  .venv/bin/layerserve example --out "$scratch" >/dev/null
  mkdir -p "$MODEL_LAYER/models"
  cp -R "$scratch/layer/models/." "$MODEL_LAYER/models/"
  rm -rf "$scratch"
  say "model layer: added the example model ($(cd "$MODEL_LAYER/models" && ls -d -- */* | tr '\n' ' '))"
}

size_of() { du -sb "$1" | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
row() { printf '    %-18s %12d bytes  %s\n' "$1" "$2" "$(mib "$2")"; }

report_sizes() {
  local runtime models dir code largest=0 total
  runtime=$(size_of "$BUILD_DIR/RuntimeLayer")
  models=$(size_of "$MODEL_LAYER")
  say "unzipped sizes (du -sb):"
  row "runtime layer" "$runtime"
  row "model layer" "$models"
  for dir in "$BUILD_DIR"/*Function; do
    code=$(size_of "$dir")
    if ((code > largest)); then largest=$code; fi
    row "$(basename "$dir")" "$code"
  done
  # The inference and batch functions carry both layers; the others only the runtime layer.
  total=$((runtime + models + largest))
  printf '    %-18s %12d bytes  %s of %s (%d%%)\n' "largest total" "$total" "$(mib "$total")" \
    "$(mib "$LIMIT_BYTES")" $((100 * total / LIMIT_BYTES))
  if ((total > LIMIT_BYTES)); then
    echo "error: function plus layers exceed Lambda's 250 MB unzipped limit; move models to S3" >&2
    exit 1
  fi
}

main() {
  local arch="${ARCH:-x86_64}" host started elapsed
  case "$arch" in
    x86_64 | arm64) ;;
    *) echo "error: ARCH must be x86_64 or arm64, not '$arch'" >&2; exit 2 ;;
  esac
  export ARCH="$arch" # read by layers/runtime/Makefile: SAM does not pass it to make
  if [[ -z "${PYTHON:-}" && -x .venv/bin/python ]]; then
    export PYTHON="$PWD/.venv/bin/python" # runs pip for the runtime layer
  fi

  ensure_sam
  ensure_model
  say "sam validate --lint"
  "$SAM" validate --lint
  say "sam build ($arch, no Docker)"
  started=$(date +%s)
  "$SAM" build --build-dir "$BUILD_DIR" --parameter-overrides "Architecture=$arch"
  elapsed=$(($(date +%s) - started))
  say "sam build took ${elapsed} s"
  report_sizes
  "$SAM_VENV/bin/python" infra/package_sizes.py "$BUILD_DIR"
  host="$(uname -m)"
  [[ "$host" != aarch64 ]] || host=arm64
  if [[ "$arch" == "$host" ]] && has_model; then
    say "smoke test with CPython 3.12"
    bash infra/smoke.sh "$BUILD_DIR/RuntimeLayer" "$BUILD_DIR/InferenceFunction" "$MODEL_LAYER"
  else
    say "smoke test skipped (needs an $arch host and a model in $MODEL_LAYER)"
  fi
}

main "$@"
