"""Synthetic requests to the local stack, so metrics and guardrails have traffic to judge."""

from __future__ import annotations

import itertools
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from layerserve.domain.manifest import Manifest, TensorSpec
from layerserve.local.logs import Ticker

_FLOATS = ("FP16", "FP32", "FP64")


def random_input(spec: TensorSpec, rng: np.random.Generator) -> dict[str, Any]:
    """One row of ``spec`` (dynamic dims are 1): floats ~ N(0, 1), integers 0..9."""
    shape = [dim if isinstance(dim, int) and dim > 0 else 1 for dim in spec.shape]
    count = int(np.prod(shape))
    data: list[Any]
    if spec.datatype in _FLOATS:
        data = np.round(rng.normal(0.0, 1.0, count), 4).tolist()
    elif spec.datatype == "BOOL":
        data = rng.integers(0, 2, count).astype(bool).tolist()
    elif spec.datatype == "BYTES":
        data = ["text"] * count
    else:
        data = rng.integers(0, 10, count).tolist()
    return {"name": spec.name, "datatype": spec.datatype, "shape": shape, "data": data}


def random_request(manifest: Manifest, rng: np.random.Generator) -> bytes:
    inputs = [random_input(spec, rng) for spec in manifest.signature.inputs]
    return orjson.dumps({"inputs": inputs})


class DemoTraffic:
    """About ``rate`` requests per second to ``base``, round-robin over ``models``."""

    def __init__(self, base: str, models: Sequence[Manifest], rate: float, seed: int = 0) -> None:
        self._base = base.rstrip("/")
        self._models = itertools.cycle(models)
        self._rng = np.random.default_rng(seed)
        self._ticker = Ticker(1.0 / rate, self.send_one)

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()

    def send_one(self) -> int | None:
        """Send one request; its HTTP status, or ``None`` while the server is not up."""
        manifest = next(self._models)
        request = urllib.request.Request(
            f"{self._base}/v2/models/{manifest.name}/infer",
            data=random_request(manifest, self._rng),
            headers={"content-type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None
