"""The local stack under concurrent clients: latency percentiles and memory growth.

Starts ``layerserve dev`` as its own process on 127.0.0.1 (embedded AWS emulator, S3
poller and log ticker running, as ``make run`` has them) over a tiny identity model,
then loads it from this process over keep-alive connections:

* reference: one client, one request at a time (the stack's own per-request time);
* load: ``--clients`` clients at once, each sending ``--requests`` requests.

The tail is reported as ratios to the reference's median, timed in the same run. Memory
is the server's resident set after a warm-up and after each of ``--rounds`` rounds of a
fuzz-like mix (valid requests of random batch sizes, malformed bodies, unknown models).

    python -m bench.local_stack [--clients 8] [--requests 250] [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench import models
from bench.harness import conditions, machine

FEATURES = 4
WARM_UP_S = 7.0
"""Light traffic first, past the stack's first log delivery and guardrail run (5 s)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def dev_server(layer: Path, environment: dict[str, str]) -> Iterator[tuple[str, int]]:
    """``layerserve dev`` on a free port; yields its base URL and process id."""
    port = _free_port()
    command = [str(Path(sys.executable).parent / "layerserve"), "dev", "--models", str(layer),
               "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"layerserve dev exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("layerserve dev did not become ready")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _infer(rows: int, values: str) -> tuple[str, bytes]:
    tensor = f'{{"name":"x","datatype":"FP32","shape":[{rows},{FEATURES}],"data":[{values}]}}'
    return "/v2/models/tiny/infer", f'{{"inputs":[{tensor}]}}'.encode()


def _valid(rng: random.Random) -> tuple[str, bytes]:
    rows = rng.randint(1, 8)
    return _infer(rows, ",".join(f"{rng.random():.4f}" for _ in range(rows * FEATURES)))


def _large(rng: random.Random) -> tuple[str, bytes]:
    rows = rng.randint(1000, 20000)
    return _infer(rows, ",".join(["0.5"] * (rows * FEATURES)))


def _fuzzed(rng: random.Random) -> tuple[str, bytes]:
    """A request a fuzzer would send: mostly valid, some malformed, some unknown."""
    pick = rng.random()
    if pick < 0.6:
        return _valid(rng)
    if pick < 0.7:
        return _large(rng)
    if pick < 0.8:
        return "/v2/models/tiny/infer", rng.randbytes(rng.randint(1, 256 * 1024))
    if pick < 0.9:
        return "/v2/models/tiny/infer", b'{"inputs":[{"name":"x","datatype":"FP32","shape":[2]}]}'
    return f"/v2/models/nosuch{rng.randint(0, 999)}/infer", b"{}"


def _client(
    base: str, count: int, seed: int, fuzz: bool, out: list[float], failures: list[str]
) -> None:
    rng = random.Random(seed)
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=base, timeout=60) as http:
        for _ in range(count):
            path, body = _fuzzed(rng) if fuzz else _valid(rng)
            started = time.perf_counter()
            response = http.post(path, content=body, headers=headers)
            out.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 500:
                failures.append(f"{response.status_code} {path}: {response.text[:200]}")


def load(base: str, clients: int, requests: int, fuzz: bool = False) -> list[float]:
    """Latencies in ms of ``clients`` concurrent clients sending ``requests`` each."""
    results: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    threads = [
        threading.Thread(target=_client, args=(base, requests, seed, fuzz, results[seed], failures))
        for seed in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:  # a caller's request never yields a 5xx
        raise RuntimeError(f"{len(failures)} answers >= 500, first: {failures[0]}")
    return sorted(value for series in results for value in series)


def warm_up(base: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        load(base, 1, 20)
        time.sleep(0.05)


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(clients: int, requests: int, rounds: int, environment: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-local-") as folder:
        layer = Path(folder)
        models.package(models.identity(FEATURES), layer, "tiny")
        with dev_server(layer, environment) as (base, pid):
            warm_up(base, WARM_UP_S)
            reference = load(base, 1, requests)
            loaded = load(base, clients, requests)
            before = rss_mib(pid)
            after = [before]
            for _ in range(rounds):
                load(base, clients, requests, fuzz=True)
                after.append(rss_mib(pid))
    ref_p50 = statistics.median(reference)
    p50, p99 = percentile(loaded, 0.5), percentile(loaded, 0.99)
    print(f"  reference, 1 client:  p50 {ref_p50:.2f} ms  p99 {percentile(reference, 0.99):.2f} ms")
    print(
        f"  {clients} clients:          p50 {p50:.2f} ms  p99 {p99:.2f} ms  "
        f"max {loaded[-1]:.2f} ms  ({len(loaded)} requests)"
    )
    print(f"  ratios to the reference p50: p50 {p50 / ref_p50:.1f}x  p99 {p99 / ref_p50:.1f}x")
    growth = [later - earlier for earlier, later in itertools.pairwise(after)]
    print(
        f"  server RSS {before:.0f} MiB after warm-up; per fuzz round of "
        f"{clients * requests} requests: " + ", ".join(f"{value:+.1f}" for value in growth) + " MiB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=250, help="per client")
    parser.add_argument("--rounds", type=int, default=3, help="fuzz rounds for memory")
    args = parser.parse_args(argv or [])  # ``python -m bench`` runs it with the defaults
    environment = {**os.environ, "POWERTOOLS_METRICS_DISABLED": "true"}
    print(f"  {machine()}; {conditions()}")
    measure(args.clients, args.requests, args.rounds, environment)


if __name__ == "__main__":
    main(sys.argv[1:])
