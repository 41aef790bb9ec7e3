"""A standard Open Inference Protocol client works unmodified against the local stack."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from layerserve.local.gateway import LocalGateway, Route
from tests.conftest import Invoke
from tests.servers import serving


@pytest.fixture
def client(inference_handler: Invoke) -> Iterator[triton.InferenceServerClient]:
    def handler(event: dict[str, object], context: object) -> dict[str, object]:
        return inference_handler(event)

    gateway = LocalGateway([Route("/v2", handler)])
    with serving(gateway) as url:
        yield triton.InferenceServerClient(url=url)


def _inputs(a: np.ndarray, b: np.ndarray, binary: bool) -> list[triton.InferInput]:
    inputs = []
    for name, array in (("a", a), ("b", b)):
        item = triton.InferInput(name, list(array.shape), "FP32")
        item.set_data_from_numpy(array, binary_data=binary)
        inputs.append(item)
    return inputs


@pytest.mark.parametrize("binary", [True, False])
def test_infer_with_tritonclient(client: triton.InferenceServerClient, binary: bool) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("addmul")
    metadata = client.get_model_metadata("addmul")
    assert [item["name"] for item in metadata["inputs"]] == ["a", "b"]
    a = np.arange(8, dtype=np.float32).reshape(2, 4)
    b = np.full((2, 4), 0.5, dtype=np.float32)
    outputs = [
        triton.InferRequestedOutput("sum", binary_data=binary),
        triton.InferRequestedOutput("product", binary_data=binary),
    ]
    result = client.infer("addmul", _inputs(a, b, binary), outputs=outputs, model_version="1")
    np.testing.assert_allclose(result.as_numpy("sum"), a + b)
    np.testing.assert_allclose(result.as_numpy("product"), a * b)
    assert result.get_response()["model_version"] == "1"


def test_bytes_tensor_with_tritonclient(client: triton.InferenceServerClient) -> None:
    text = np.array([b"ab", "ü".encode()], dtype=np.object_)
    item = triton.InferInput("text", [2], "BYTES")
    item.set_data_from_numpy(text, binary_data=True)
    result = client.infer("echo", [item])
    assert result.as_numpy("doubled").tolist() == [b"abab", "üü".encode()]


def test_errors_surface_as_client_exceptions(client: triton.InferenceServerClient) -> None:
    item = triton.InferInput("a", [1, 4], "FP32")
    item.set_data_from_numpy(np.zeros((1, 4), dtype=np.float32))
    with pytest.raises(InferenceServerException, match="missing input"):
        client.infer("addmul", [item])
    with pytest.raises(InferenceServerException, match="not found"):
        client.infer("missing-model", [item])
