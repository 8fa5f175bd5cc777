"""Training in a separate Python process, so the server keeps none of the memory a training run touches."""

from __future__ import annotations

import base64
import collections
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from dashboard.core import checkpoints, data, nets, paths, recipes, snapshots, train

# Why a child process: a training run in the server leaves memory behind for good (the backward kernels' code
# pages, oneDNN's primitive caches, a fragmented heap). The child pays a Python and torch start and hands back
# only the weights, as safetensors, with the config that rebuilds them; nothing crosses as a pickle.
CHILD_TIMEOUT_S = 900
JOB, IMAGES, WEIGHTS, RESULT = "job.json", "images.safetensors", "weights.safetensors", "result.json"
MESSAGE = "latent-lab-message "  # marks the child's stdout lines meant for the parent; any other line is ignored
LAST_WORDS = 3  # stderr lines quoted when the child fails

# (epochs done, codes (N, k) of the fixed test images, mean train loss or None before the first epoch)
CodesFn = Callable[[int, np.ndarray, "float | None"], None]


class ChildError(RuntimeError):
    """The child process failed or ran past its time limit; the message says which, in words a page can show."""


def run_child(argv: list[str], on_message: Callable[[dict], None] | None = None,
              timeout_s: float = CHILD_TIMEOUT_S, what: str = "The training process") -> None:
    """Run argv from the repository root, handing each message line of its stdout to on_message as it comes.

    Threads drain stdout and stderr while the child runs, so a child that prints a lot never blocks on a full
    pipe, and the time limit holds however much it prints. on_message runs on the calling thread (a Streamlit
    script may draw from it); if it raises, the child is killed and the exception goes on. ChildError when the
    child exits with an error (quoting its last stderr lines) or is still running after timeout_s.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(paths.ROOT), os.environ.get("PYTHONPATH")]))}
    deadline = time.monotonic() + timeout_s
    child = subprocess.Popen(argv, cwd=paths.ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, errors="replace")
    messages: queue.Queue = queue.Queue()
    last_words: collections.deque[str] = collections.deque(maxlen=LAST_WORDS)
    readers = [threading.Thread(target=_read_messages, args=(child.stdout, messages), daemon=True),
               threading.Thread(target=_read_last_words, args=(child.stderr, last_words), daemon=True)]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                message = messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if message is None:  # stdout closed: the child is exiting
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
                break
            if on_message:
                on_message(message)
        else:
            timed_out = True
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for reader in readers:
            reader.join(timeout=5)
    if timed_out:
        raise ChildError(f"{what} ran past its limit of {timeout_s:g} s and was stopped; nothing was kept.")
    if child.returncode != 0:
        raise ChildError(f"{what} stopped with code {child.returncode}: "
                         f"{' '.join(line.strip() for line in last_words) or 'no message'}")


def _read_messages(stream, messages: queue.Queue) -> None:
    """Queue every message line of the child's stdout as a dict, then None at the end; other lines are dropped."""
    try:
        for line in stream:
            if line.startswith(MESSAGE):
                try:
                    messages.put(json.loads(line[len(MESSAGE):]))
                except ValueError:
                    pass  # a line cut short by a kill carries nothing to report
    finally:
        messages.put(None)
        stream.close()


def _read_last_words(stream, last_words: collections.deque) -> None:
    """Keep the child's last stderr lines, reading them as they come so the pipe never fills."""
    try:
        for line in stream:
            if line.strip():
                last_words.append(line)
    finally:
        stream.close()


def train_in_child(model_config: nets.NetworkConfig, x_train: torch.Tensor, config: train.TrainConfig,
                   progress: train.EpochProgress | None = None,
                   timeout_s: float = CHILD_TIMEOUT_S) -> train.TrainResult:
    """train.train(model_config, x_train, config, progress) run by a child process; the same seeds, the same run.

    The child uses this process's torch thread count. ChildError (with the child's last words) if it fails.
    """
    result, _, _ = _run_job({"network": model_config.to_dict(), "training": config.to_dict()}, x_train,
                            progress, None, timeout_s)
    return result


def make_in_child(plan: recipes.Recipe, x_train: torch.Tensor, progress: train.EpochProgress | None = None,
                  on_codes: CodesFn | None = None, stop_after_s: float | None = None,
                  timeout_s: float = CHILD_TIMEOUT_S) -> tuple[train.TrainResult, dict, bytes]:
    """recipes.make(plan, x_train, ...) run by a child process: (run, card, safetensors weights), as make returns.

    on_codes gets the codes of the dataset's fixed snapshot images (snapshots.image_indices) before training and
    after every epoch. stop_after_s stops training after the epoch that passes it (counted from now) and keeps
    the model, as should_stop does in the same process; timeout_s is the hard limit, past which nothing is kept.
    """
    job = {"network": plan.network.to_dict(), "training": plan.training.to_dict(), "name": plan.name,
           "dataset": plan.dataset, "record": on_codes is not None,
           "stop_at": None if stop_after_s is None else time.time() + stop_after_s}
    return _run_job(job, x_train, progress, on_codes, timeout_s)


def _run_job(job: dict, x_train: torch.Tensor, progress: train.EpochProgress | None, on_codes: CodesFn | None,
             timeout_s: float) -> tuple[train.TrainResult, dict, bytes]:
    def on_message(message: dict) -> None:
        if "codes" in message and on_codes:
            codes = np.frombuffer(base64.b64decode(message["codes"]), dtype=np.float16).reshape(message["shape"])
            on_codes(message["epoch"], codes.astype(np.float32), message["loss"])
        elif "epochs" in message and progress:
            progress(message["epoch"], message["epochs"], message["loss"])

    with tempfile.TemporaryDirectory(prefix="latent-lab-train-") as folder_name:
        folder = Path(folder_name)
        save_file({"x_train": x_train.detach().to("cpu", torch.float32).contiguous()}, folder / IMAGES)
        (folder / JOB).write_text(json.dumps({**job, "threads": torch.get_num_threads()}))
        run_child([sys.executable, "-m", __name__, str(folder)], on_message, timeout_s)
        if not (folder / RESULT).exists():
            raise ChildError("The training process ended without a result.")
        summary = json.loads((folder / RESULT).read_text())
        payload = (folder / WEIGHTS).read_bytes()
    card = summary.pop("card")
    model = checkpoints.from_bytes(payload, card, source="the weights the training process sent")
    return train.TrainResult(model=model, **summary), card, payload


def _say(**message) -> None:
    print(MESSAGE + json.dumps(message), flush=True)


def _child(folder: Path) -> None:
    """The child's side: read the job, train (and score a recipe), write weights and a summary, report each epoch."""
    job = json.loads((folder / JOB).read_text())
    torch.set_num_threads(int(job["threads"]))
    network, settings = nets.config_from_dict(job["network"]), train.TrainConfig.from_dict(job["training"])
    x_train = load_file(folder / IMAGES)["x_train"]
    stop_at = job.get("stop_at")
    should_stop = None if stop_at is None else (lambda: time.time() > stop_at)

    def progress(epoch: int, epochs: int, loss: float) -> None:
        _say(epoch=epoch, epochs=epochs, loss=loss)

    on_epoch = None
    if job.get("record"):
        recorder = snapshots.Recorder.for_dataset(data.load(job["dataset"]))

        def on_epoch(epoch: int, model: nets.Network, loss: float | None) -> None:
            recorder(epoch, model, loss)
            codes = recorder.codes[-1]  # (N, k) float16
            _say(epoch=epoch, loss=loss, shape=list(codes.shape), codes=base64.b64encode(codes.tobytes()).decode())

    if "name" in job:
        plan = recipes.Recipe(job["name"], job["dataset"], network, settings)
        result, card, payload = recipes.make(plan, x_train=x_train, progress=progress, should_stop=should_stop,
                                             on_epoch=on_epoch)
    else:
        result = train.train(network, x_train, settings, progress=progress, should_stop=should_stop,
                             on_epoch=on_epoch)
        payload = checkpoints.to_bytes(result.model)
        card = {"config": network.to_dict(), "sha256": checkpoints.sha256(payload)}
    (folder / WEIGHTS).write_bytes(payload)
    (folder / RESULT).write_text(json.dumps({
        "card": card, "history": result.history, "seconds": result.seconds, "device": result.device,
        "epochs_done": result.epochs_done, "cancelled": result.cancelled,
        "images_per_second": result.images_per_second}))


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
