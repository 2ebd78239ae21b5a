#!/usr/bin/env python3
"""Benchmark: what the whole job path costs beyond the inference itself.

Run by scripts/bench-engine after the engine benchmark:

    scripts/bench_overhead.py NODE_BINARY VERITY_BINARY OUT.md [--quick]

Starts `verity-node --dev` (debug logs of the inference path on), registers
models with the `verity` CLI, submits jobs one after another, and reads the
node's log. For each job, from the import of the block whose offchain worker
runs it (the block that draws its executor) to the executor's signed result
commitment entering the transaction pool:

    import -> offchain worker starts the job -> engine (in the sandbox worker)
           -> commitment signed and submitted

The offchain worker logs its own spans (engine call; signing and the pool's
validation), which give the signing-and-pool floor its own column.

The engine's own time is what the worker process measures around the run;
everything else is overhead of the path (offchain worker, reading the input
from state, host-function call, the sandbox's process round trip, signing and
submitting). The first job of a model also loads it (reads the bytes from
state, parses and optimizes them); it is reported separately.
The result is included in the next block; how long that is away is the
chain's block time (a setting), so it is not counted.
"""
import datetime
import json
import pathlib
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
import onnx

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Models whose golden vector (one input of batch 1) fits the chain's
# `MaxGoldenVectorSize` (128 KiB): a 224 x 224 image (588 KiB) does not, so
# the image networks of the engine benchmark cannot be registered here.
MODELS = [
    ("digits-mlp", ROOT / "models" / "digits-mlp.onnx", "tolerance:0.00001,0.0001"),
    ("pt-cnn", ROOT / "models" / "corpus" / "pt-cnn.onnx", "tolerance:0.0001,0.001"),
    ("slow-matmul", ROOT / "models" / "slow-matmul.onnx", "tolerance:0.0001,0.001"),
]

TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(port, method, params):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}",
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def stamp(line):
    m = TS.match(line)
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f") if m else None


def input_for(path, rng):
    model = onnx.load(str(path))
    inits = {i.name for i in model.graph.initializer}
    v = [v for v in model.graph.input if v.name not in inits][0]
    shape = [d.dim_value if d.HasField("dim_value") else 1 for d in v.type.tensor_type.shape.dim]
    data = rng.standard_normal(shape).astype(np.float32)
    return {"tensors": [{"name": v.name, "dtype": "float32", "shape": shape,
                         "data": data.reshape(-1).tolist()}]}


def main():
    node_bin, verity_bin, out_md = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    build = ("release build" if "/release/" in node_bin
             else "debug build, as the tests and the demo run it")
    jobs_per_model = 3 if "--quick" in sys.argv else 8
    rng = np.random.default_rng(7)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="verity-overhead-"))
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    log_path = tmp / "node.log"
    node = subprocess.Popen(
        [node_bin, "--dev", "--base-path", str(tmp / "db"), "--rpc-port", str(port),
         "--port", str(free_port()), "--no-prometheus", "--no-telemetry", "--no-mdns",
         "--dev-block-time", "2000",
         "-l", "runtime::inference=debug,verity::inference=debug"],
        stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    try:
        for _ in range(240):
            try:
                rpc(port, "system_health", [])
                break
            except OSError:
                time.sleep(0.5)
        # Bob's inference key, so that both genesis executors run here.
        bob_pub = "0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48"
        rpc(port, "author_insertKey", ["vrty", "//Bob", bob_pub])

        def verity(*args):
            r = subprocess.run([verity_bin, "--url", url, *args], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"verity {' '.join(args)}: {r.stderr.strip()}")
            return r.stdout

        results = []
        for name, path, policy in MODELS:
            model_id = verity("model", "register", "--suri", "//Charlie", "--file", str(path),
                              "--name", name, "--price", "1", "--policy", policy).strip()
            inp = tmp / f"{name}.json"
            inp.write_text(json.dumps(input_for(path, rng)))
            for _ in range(jobs_per_model):
                job = int(verity("job", "submit", "--suri", "//Eve", "--model", model_id,
                                 "--input", str(inp), "--wait", "result").splitlines()[0])
                results.append((name, job))
        time.sleep(1)
    finally:
        node.terminate()
        node.wait(timeout=30)

    log = log_path.read_text().splitlines()
    imported = {}
    for line in log:
        m = re.search(r"Imported #(\d+)", line)
        if m and stamp(line) and int(m.group(1)) not in imported:
            imported[int(m.group(1))] = stamp(line)
    rows = {}
    for name, job in results:
        started = next((stamp(l) for l in log if f"job {job}: running it as its executor" in l),
                       None)
        answer = next((l for l in log if f"job {job}: answer submitted" in l), None)
        submitted = stamp(answer) if answer else None
        # The offchain worker's own spans: the engine call (with the
        # sandbox's round trip), then signing and the pool's validation.
        spans = re.search(r"engine (\d+) ms, signing and pool (\d+) ms", answer or "")
        # The engine line logged between this job's start and its submission.
        engine = None
        if started and submitted:
            for line in log:
                t = stamp(line)
                m = re.search(r"engine ([\d.]+) ms, with the process round trip ([\d.]+) ms", line)
                if m and t and started <= t <= submitted:
                    engine = (float(m.group(1)), float(m.group(2)))
        # The executor runs a job in the offchain worker of the block that
        # draws it (a few blocks after the one that includes it): the last
        # import before the worker starts the job.
        trigger = max((t for t in imported.values() if started and t <= started), default=None)
        if not (started and submitted and engine and spans and trigger):
            print(f"job {job}: incomplete log, skipped", file=sys.stderr)
            continue
        path_ms = (submitted - trigger).total_seconds() * 1e3
        start_ms = (started - trigger).total_seconds() * 1e3
        rows.setdefault(name, []).append(
            (path_ms, engine[0], engine[1], start_ms, float(spans.group(2))))

    lines = [
        "| model | jobs | engine (ms) | sandbox round trip (ms) | import -> result in pool (ms) | "
        "overhead (ms) | of which import -> worker starts the job (ms) | of which signing and "
        "pool (ms) | overhead without signing and pool (ms) | overhead / engine | "
        "first job, incl. load (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, _, _ in MODELS:
        r = rows.get(name, [])
        if len(r) < 2:
            lines.append(f"| {name} | {len(r)} | too few jobs logged | | | | | | | | |")
            continue
        first, warm = r[0], r[1:]
        eng = statistics.median(x[1] for x in warm)
        rt = statistics.median(x[2] for x in warm)
        path = statistics.median(x[0] for x in warm)
        start = statistics.median(x[3] for x in warm)
        sign = statistics.median(x[4] for x in warm)
        over = path - eng
        lines.append(f"| {name} | {len(warm)} | {eng:.2f} | {rt:.2f} | {path:.2f} | "
                     f"{over:.2f} | {start:.0f} | {sign:.0f} | {over - sign:.2f} | "
                     f"{over / eng * 100:.1f} % | {first[0]:.0f} |")
    text = (
        f"Measured {time.strftime('%Y-%m-%d')}: `verity-node --dev` ({build}), 2 s blocks, jobs submitted one after another with "
        f"`verity job submit --wait result`; medians over the warm jobs (the first job of each "
        f"model, which also loads it, is the last column). Times come from the node's log "
        f"(millisecond timestamps), the engine's from the worker process.\n\n"
        + "\n".join(lines) + "\n")
    print(text)
    out_md.write_text(text)


if __name__ == "__main__":
    main()
