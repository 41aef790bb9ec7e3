"""Sizes a deploy sends, against the limits that refuse them (run by infra/build.sh).

  python infra/package_sizes.py BUILD_DIR

- the packaged template: BUILD_DIR/template.yaml with local code paths replaced by S3
  URIs, written as ``sam package`` writes it (samcli's yaml_dump when this runs in the
  aws-sam-cli virtualenv, PyYAML's equivalent otherwise), against CloudFormation's
  51,200-byte inline limit;
- the runtime layer zipped as ``sam package`` zips it, against Lambda's 50 MB
  direct-upload limit.

Prints one line each; exits 1 when a limit is exceeded. Below 10 % headroom it warns.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

TEMPLATE_LIMIT = 51_200
LAYER_ZIP_LIMIT = 50 * 1024 * 1024
HEADROOM = 0.10
S3_URI = (
    "s3://aws-sam-cli-managed-default-samclisourcebucket-1a2b3c4d5e6f/"
    "layerserve/0123456789abcdef0123456789abcdef"
)


def _dump(template: dict[str, Any]) -> str:
    try:
        from samcli.yamlhelper import yaml_dump  # type: ignore[import-not-found]
    except ImportError:
        import yaml  # type: ignore[import-untyped]

        class Dumper(yaml.SafeDumper):  # type: ignore[misc]
            def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 (PyYAML hook)
                return True

        return str(yaml.dump(template, Dumper=Dumper, default_flow_style=False, sort_keys=False))
    return str(yaml_dump(template))


def _parse(text: str) -> dict[str, Any]:
    try:
        from samcli.yamlhelper import yaml_parse  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]
    parsed: dict[str, Any] = yaml_parse(text)
    return parsed


def packaged_template_bytes(template_path: Path) -> int:
    template = _parse(template_path.read_text(encoding="utf-8"))
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = S3_URI
    return len(_dump(template).encode("utf-8"))


def zipped_bytes(folder: Path) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "layer.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for root, dirs, files in os.walk(folder):
                dirs.sort()
                for name in sorted(files):
                    path = Path(root) / name
                    archive.write(path, path.relative_to(folder).as_posix())
        return target.stat().st_size


def _report(label: str, size: int, limit: int, unit: float, suffix: str) -> bool:
    left = limit - size
    digits = 0 if unit == 1 else 1
    line = (
        f"    {label:<26} {size / unit:10,.{digits}f} {suffix} of {limit / unit:,.{digits}f} "
        f"{suffix} ({100 * size / limit:.0f} %, {left / unit:,.{digits}f} {suffix} left)"
    )
    sys.stdout.write(line + "\n")
    if size > limit:
        sys.stderr.write(f"error: {label} is over its limit\n")
        return False
    if left < HEADROOM * limit:
        sys.stderr.write(f"warning: {label} has less than 10 % left\n")
    return True


def main(argv: list[str]) -> int:
    build = Path(argv[1] if len(argv) > 1 else ".aws-sam/build")
    template = packaged_template_bytes(build / "template.yaml")
    layer = zipped_bytes(build / "RuntimeLayer")
    sys.stdout.write("==> what a deploy uploads:\n")
    ok = _report("packaged template", template, TEMPLATE_LIMIT, 1, "bytes")
    ok = _report("runtime layer (zipped)", layer, LAYER_ZIP_LIMIT, 1024 * 1024, "MiB") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
