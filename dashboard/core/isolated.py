"""Training in a separate Python process, so the server keeps none of the memory a training run touches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from dashboard.core import nets, paths, train

# Why a child process: a training run in the server left about 150 MB behind for good (the backward kernels'
# code pages, oneDNN's primitive caches, a fragmented heap), measured on the Anomaly page's on-demand detector.
# The child pays a Python and torch start (a few seconds) and hands back only the weights, as safetensors.
CHILD_TIMEOUT_S = 900
JOB, IMAGES, WEIGHTS, RESULT = "job.json", "images.safetensors", "weights.safetensors", "result.json"


def train_in_child(model_config: nets.NetworkConfig, x_train: torch.Tensor, config: train.TrainConfig,
                   progress: train.ProgressFn | None = None,
                   timeout_s: float = CHILD_TIMEOUT_S) -> train.TrainResult:
    """train.train(model_config, x_train, config, progress) run by a child process; the same seeds, the same run.

    The child uses this process's torch thread count. RuntimeError (with the child's last words) if it fails.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="latent-lab-train-") as folder_name:
        folder = Path(folder_name)
        save_file({"x_train": x_train.detach().to("cpu", torch.float32).contiguous()}, folder / IMAGES)
        (folder / JOB).write_text(json.dumps({"network": model_config.to_dict(), "training": config.to_dict(),
                                              "threads": torch.get_num_threads()}))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(paths.ROOT),
                                                                          os.environ.get("PYTHONPATH")]))}
        child = subprocess.Popen([sys.executable, "-m", __name__, str(folder)], cwd=paths.ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for line in child.stdout:  # one JSON line per finished epoch
                if progress and line.startswith("{"):
                    done = json.loads(line)
                    progress(done["epoch"], done["epochs"], done["loss"])
            child.wait(timeout=max(1.0, timeout_s - (time.perf_counter() - started)))
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        if child.returncode != 0 or not (folder / RESULT).exists():
            last_words = (child.stderr.read() or "").strip().splitlines()[-3:]
            raise RuntimeError(f"The training process stopped with code {child.returncode}: "
                               f"{' '.join(last_words) or 'no message'}")
        summary = json.loads((folder / RESULT).read_text())
        model = nets.build(model_config)
        model.load_state_dict(load_file(folder / WEIGHTS))
    return train.TrainResult(model=model.eval(), history=summary["history"], seconds=summary["seconds"],
                             device=summary["device"], epochs_done=summary["epochs_done"],
                             images_per_second=summary["images_per_second"])


def _child(folder: Path) -> None:
    """The child's side: read the job, train, write the weights and a summary, report each epoch on stdout."""
    job = json.loads((folder / JOB).read_text())
    torch.set_num_threads(int(job["threads"]))
    result = train.train(nets.config_from_dict(job["network"]), load_file(folder / IMAGES)["x_train"],
                         train.TrainConfig.from_dict(job["training"]),
                         progress=lambda epoch, epochs, loss: print(json.dumps(
                             {"epoch": epoch, "epochs": epochs, "loss": loss}), flush=True))
    save_file({name: value.detach().contiguous().clone() for name, value in result.model.state_dict().items()},
              folder / WEIGHTS)
    (folder / RESULT).write_text(json.dumps({"history": result.history, "seconds": result.seconds,
                                             "device": result.device, "epochs_done": result.epochs_done,
                                             "images_per_second": result.images_per_second}))


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
