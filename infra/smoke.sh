#!/usr/bin/env bash
# Smoke-test the built x86_64 inference function with CPython 3.12 (Lambda's version):
# only the built runtime layer and the function's code are importable, no dev virtualenv,
# no boto3. Calls the real handler for readiness, metadata and one inference.
#
#   infra/smoke.sh [RUNTIME_LAYER_DIR] [FUNCTION_DIR] [MODEL_LAYER_DIR]
#
# Defaults: .aws-sam/build/RuntimeLayer, .aws-sam/build/InferenceFunction, layers/models.
# PYTHON312 picks the interpreter (else python3.12 on PATH, else the newest under pyenv).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
layer="$(realpath "${1:-$root/.aws-sam/build/RuntimeLayer}")"
function_dir="$(realpath "${2:-$root/.aws-sam/build/InferenceFunction}")"
models_layer="$(realpath "${3:-$root/layers/models}")"

find_python312() {
  if [[ -n "${PYTHON312:-}" ]]; then
    echo "$PYTHON312"
  elif python3.12 -c '' 2>/dev/null; then
    command -v python3.12
  else
    compgen -G "$HOME/.pyenv/versions/3.12.*/bin/python3.12" | sort -V | tail -n 1
  fi
}

python312="$(find_python312 || true)"
if [[ -z "$python312" ]]; then
  echo "smoke: no CPython 3.12 found (set PYTHON312)" >&2
  exit 2
fi
for dir in "$layer/python" "$function_dir" "$models_layer/models"; do
  [[ -d "$dir" ]] || { echo "smoke: $dir does not exist (run make build first)" >&2; exit 2; }
done

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# A clean environment, as in Lambda: the layer's python/ and the function code on the path.
env -i \
  PATH=/usr/bin:/bin \
  HOME="$scratch" \
  LANG=C.UTF-8 \
  PYTHONPATH="$function_dir:$layer/python" \
  PYTHONDONTWRITEBYTECODE=1 \
  AWS_REGION=us-east-1 \
  AWS_LAMBDA_FUNCTION_NAME=layerserve-smoke \
  LAYERSERVE_MODELS_DIR="$models_layer/models" \
  LAYERSERVE_SCRATCH_DIR="$scratch/tmp" \
  LAYERSERVE_MAX_BODY_BYTES=6291456 \
  POWERTOOLS_SERVICE_NAME=inference \
  POWERTOOLS_METRICS_NAMESPACE=layerserve-smoke \
  LOG_LEVEL=WARN \
  "$python312" -S "$root/infra/smoke.py" "$models_layer/models"
