"""Inference runtime rows: torch against onnxruntime for the Overview's models, each in a fresh process."""

from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from dashboard.core import data, onnx_export, paths, threads

from . import Row, section

NAME = "runtime: onnx"
DATASET = data.DEFAULT_DATASET
OVERVIEW_MODELS = ("ae-16", "ae-3")  # what the first page loads, so what a cold start pays for
TIMED_MODEL = "ae-16"

# Runs in a fresh interpreter, so import cost and memory are a server's, not this benchmark's (which holds torch).
CHILD = r"""
import json, os, statistics, sys, time
args = json.loads(sys.argv[1])

def rss_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

import numpy as np
images = np.load(args["images"])  # (1000, 1, 28, 28) float32
out = {"rss_base_mb": rss_mb()}
start = time.perf_counter()
if args["runtime"] == "torch":
    import torch
    from dashboard.core import threads
    torch.set_num_threads(threads.serving_threads())  # the server's policy; onnxruntime gets the same count
else:
    import onnxruntime  # noqa: F401
out["import_s"] = time.perf_counter() - start
out["rss_import_mb"] = rss_mb()
out["torch_imported"] = "torch" in sys.modules
from dashboard.core import runtime
start = time.perf_counter()
models = {name: runtime.load(name, args["dataset"], args["runtime"], args["folder"]) for name in args["names"]}
out["load_s"] = time.perf_counter() - start
out["rss_load_mb"] = rss_mb()
timed = models[args["timed"]]
start = time.perf_counter()
for model in models.values():
    model.reconstruct(images[:1])
out["first_call_ms"] = 1000 * (time.perf_counter() - start)

def median_ms(batch, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        timed.decode(timed.encode(batch))
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)

out["one_image_ms"] = median_ms(images[:1], 50)
out["test_split_ms"] = median_ms(images, 3)
out["rss_end_mb"] = rss_mb()
out["torch_imported_end"] = "torch" in sys.modules
print("RESULT " + json.dumps(out))
"""


def measure(python: str, runtime_name: str, images: Path, folder: Path) -> dict:
    """One fresh process serving the Overview's models through one runtime; raises on a failed child."""
    args = {"runtime": runtime_name, "images": str(images), "folder": str(folder), "dataset": DATASET,
            "names": list(OVERVIEW_MODELS), "timed": TIMED_MODEL}
    done = subprocess.run([python, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, timeout=300,
                          cwd=paths.ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(paths.ROOT),
                               threads.THREADS_ENV: str(threads.serving_threads())})
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError((done.stderr or done.stdout).strip().splitlines()[-1][:200])
    return json.loads(lines[-1].removeprefix("RESULT "))


def median_of(python: str, runtime_name: str, images: Path, folder: Path, runs: int) -> dict:
    """Each number's median over runs fresh processes: other jobs on a shared machine move single runs."""
    results = [measure(python, runtime_name, images, folder) for _ in range(runs)]
    return {key: statistics.median(r[key] for r in results) if isinstance(results[0][key], float) else results[0][key]
            for key in results[0]}


def has_module(python: str, module: str) -> bool:
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def pythons() -> list[tuple[str, str]]:
    """(label, interpreter): this venv's torch build, and the CPU-only deploy's venv where the benchmark made one."""
    import torch

    found = [(f"{'CUDA' if torch.version.cuda else 'CPU-only'} torch {torch.__version__}", sys.executable)]
    try:
        from .app import CLOUD_REQUIREMENTS, CLOUD_VENVS  # the app section makes the deploy's venv and names it
    except ImportError:  # its browser harness needs requirements-dev; this venv's rows still stand
        return found
    digest = hashlib.sha256(CLOUD_REQUIREMENTS.read_bytes()).hexdigest()[:12]  # app.cloud_venv's naming rule
    cloud = CLOUD_VENVS / f"cloud-{digest}" / "bin" / "python"
    if cloud.exists():
        version = subprocess.run([str(cloud), "-c", "import torch; print(torch.__version__)"], capture_output=True,
                                 text=True).stdout.strip()
        found.append((f"CPU-only torch {version} (requirements-cloud.txt venv)", str(cloud)))
    return found


def rows_for(label: str, runtime_name: str, result: dict) -> list[Row]:
    where = f"{label}; {runtime_name}"
    what = "import torch" if runtime_name == "torch" else "import onnxruntime"
    models = " and ".join(OVERVIEW_MODELS)
    return [
        Row(NAME, f"{where}: {what}", result["import_s"], "s", note="fresh process, numpy already imported"),
        Row(NAME, f"{where}: RSS after import", result["rss_import_mb"], "MB",
            note=f"python + numpy alone: {result['rss_base_mb']:.0f} MB"),
        Row(NAME, f"{where}: load {models}", 1000 * result["load_s"], "ms",
            note=("zoo checkpoints (verified)" if runtime_name == "torch" else "exported graphs (verified)")
            + f"; RSS then {result['rss_load_mb']:.0f} MB"),
        Row(NAME, f"{where}: first reconstruct, both models, 1 image", result["first_call_ms"], "ms"),
        Row(NAME, f"{where}: {TIMED_MODEL} encode+decode, 1 image", result["one_image_ms"], "ms", note="median of 50"),
        Row(NAME, f"{where}: {TIMED_MODEL} encode+decode, 1,000-image test split", result["test_split_ms"], "ms",
            note="median of 3"),
        Row(NAME, f"{where}: RSS after serving", result["rss_end_mb"], "MB",
            note=f"torch imported: {result['torch_imported_end']}"),
    ]


@section(NAME, order=24)
def onnx_against_torch(quick: bool) -> list[Row]:
    """Issue 15's runtime question: what serving through onnxruntime, torch never imported, saves at start-up."""
    rows: list[Row] = []
    runs = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="latent-lab-runtime-") as tmp:
        folder = Path(tmp) / "onnx"
        for name in OVERVIEW_MODELS:
            onnx_export.export(name, DATASET, folder)
        images = Path(tmp) / "test.npy"
        np.save(images, data.load(DATASET).x_test.numpy())
        for label, python in pythons():
            by_runtime = {"torch": median_of(python, "torch", images, folder, runs)}
            if has_module(python, "onnxruntime"):
                by_runtime["onnx"] = median_of(python, "onnx", images, folder, runs)
            for runtime_name, result in by_runtime.items():
                rows += rows_for(label, runtime_name, result)
            if "onnx" not in by_runtime:
                rows.append(Row(NAME, f"{label}; onnx", "not measured", note=f"no onnxruntime in {python}"))
                continue
            torch_side, onnx_side = by_runtime["torch"], by_runtime["onnx"]
            rows.append(Row(NAME, f"{label}: start-up saved by onnxruntime (import + load)",
                            torch_side["import_s"] + torch_side["load_s"] - onnx_side["import_s"]
                            - onnx_side["load_s"], "s", note=f"median of {runs} fresh processes each"))
            rows.append(Row(NAME, f"{label}: RSS saved by onnxruntime after serving",
                            torch_side["rss_end_mb"] - onnx_side["rss_end_mb"], "MB",
                            note="only while no page imports torch (a visitor's training still would)"))
    return rows
