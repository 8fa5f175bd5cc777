"""The command that rebuilds models/ from the recipe table: python -m dashboard.core.build [--help]."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from dashboard.core import checkpoints, data, paths, recipes, snapshots, train

HEADER = ("| name | epochs | seconds | device | test MSE | PCA MSE | AE/PCA | accuracy |\n"
          "|---|---:|---:|---|---:|---:|---:|---:|")


def row(card: dict) -> str:
    """One line of the summary table: reconstruction against PCA for an autoencoder, accuracy for the classifier."""
    scores = card["metrics"]
    mse, pca, accuracy = scores.get("test_mse"), scores.get("pca_mse"), scores.get("test_accuracy")
    cells = [card["name"], str(card["epochs"]), f"{card['train_seconds']:.1f}", card["device"],
             f"{mse:.5f}" if mse is not None else "", f"{pca:.5f}" if pca is not None else "",
             # PCA with every component is exact; generators have no PCA yardstick
             f"{mse / pca:.2f}" if mse is not None and pca is not None and pca > 1e-9 else "",
             f"{accuracy:.4f}" if accuracy is not None else ""]
    return "| " + " | ".join(cells) + " |"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard.core.build",
        description="Rebuild the shipped files under models/ from the recipe table in dashboard/core/recipes.py: "
                    "every autoencoder and the reference classifier, for each offline dataset.")
    parser.add_argument("--dataset", nargs="+", default=list(recipes.SHIPPED_DATASETS), choices=data.DATASETS,
                        help="datasets to build (default: %(default)s)")
    parser.add_argument("--only", nargs="+", metavar="NAME", default=None,
                        help="file names to build, e.g. ae-16 dae-64 reference-classifier (default: all shipped)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--out", default=None, help="root folder; files go to OUT/<dataset>/ (default: models/)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="override every recipe's epoch count, for a quick trial run (cards record it)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads; the cards record the count (bit-identical reruns need the same)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="train this many recipes at once, each in its own process with one torch thread "
                             "(default: %(default)s, in this process). Small convs gain little from a second thread, "
                             "so on an N-core CPU --jobs N is fastest")
    parser.add_argument("--snapshots-only", action="store_true",
                        help=f"retrain only the recorded models ({', '.join(recipes.SNAPSHOT_NAMES)}) and write "
                             "their training snapshots; shipped weights are kept, and a retrain that does not "
                             "reproduce them bit for bit is reported and noted in the snapshot card")
    parser.add_argument("--list", action="store_true", help="print the recipes and exit without training")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    for name in args.only or ():
        if name not in recipes.SHIPPED_NAMES:
            try:
                recipes.parse_name(name)
            except ValueError as exc:
                parser.error(str(exc))
    return args


def build_one(plan: recipes.Recipe, folder: Path, snapshots_only: bool = False) -> dict:
    """Train one recipe and write its files (and, for a recorded model, its snapshots); returns the model's card.

    With snapshots_only the shipped weights and card stay. Snapshots tie to the weights they ship beside; when the
    retrain does not reproduce those bit for bit (float kernels differ between machines), their card says so.
    """
    recorder = snapshots.Recorder.for_dataset(data.load(plan.dataset)) \
        if plan.name in recipes.SNAPSHOT_NAMES else None
    _, card, payload = recipes.make(plan, on_epoch=recorder)
    card_path = checkpoints.files_for(folder, plan.name)[0]
    ended_at = card["sha256"]
    if snapshots_only and card_path.exists():
        card = checkpoints.read_card(card_path)
        if card["sha256"] != ended_at:
            print(f"  {plan.name}: the retrain's weights ({ended_at[:12]}) differ from the shipped ones "
                  f"({card['sha256'][:12]}); shipped weights kept, snapshots recorded from the retrain", flush=True)
    else:
        card = checkpoints.save(payload, card, folder, plan.name)
    if recorder is not None:
        snapshots.save(recorder.to_bytes(), folder, plan.name, plan.dataset, card, ended_at=ended_at)
    return card


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _build_in_worker(name: str, dataset: str, overrides: dict, folder: str, snapshots_only: bool) -> dict:
    return build_one(recipes.recipe(name, dataset, **overrides), Path(folder), snapshots_only)


def _cost(plan: recipes.Recipe) -> float:
    """A rough training cost (pixels seen), so that the longest recipes start first and the workers end together."""
    if plan.name in recipes.generator_recipes.NAMES:
        return 0.0  # they read the autoencoders' codes, so they start after every autoencoder
    _, height, width = plan.network.image_shape
    return plan.training.epochs * height * width


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    names = args.only or list(recipes.SHIPPED_NAMES)
    if args.snapshots_only:
        names = [name for name in names if name in recipes.SNAPSHOT_NAMES]
    overrides = {"device": args.device} | ({"epochs": args.epochs} if args.epochs is not None else {})
    root = Path(args.out) if args.out else paths.MODELS_DIR
    if args.list:
        print("| dataset | name | network | training |\n|---|---|---|---|")
        for dataset in args.dataset:
            for name in names:
                plan = recipes.recipe(name, dataset)
                print(f"| {dataset} | {name} | {plan.network.to_dict()} | {plan.training.to_dict()} |")
        return
    train.pick_device(args.device)  # refuse a missing GPU before any training starts
    total = time.perf_counter()
    if args.jobs > 1:
        _build_parallel(args, names, overrides, root)
    else:
        for dataset in args.dataset:
            ds = data.load(dataset)
            print(f"\n{dataset}: {len(names)} files from {len(ds.x_train)} training images into {root / dataset} "
                  f"on {train.device_label(train.pick_device(args.device))}\n{HEADER}", flush=True)
            for name in names:
                card = build_one(recipes.recipe(name, dataset, **overrides), root / dataset, args.snapshots_only)
                print(row(card), flush=True)
    offline = [d for d in args.dataset if d in data.OFFLINE_DATASETS]
    if root == paths.MODELS_DIR and offline and not args.snapshots_only:
        # The pages' precomputed results depend on these checkpoints; the app layer computes them, so it runs apart.
        print("\nPrecomputing the pages' results on the shipped models (python -m dashboard.app.precompute)…",
              flush=True)
        subprocess.run([sys.executable, "-m", "dashboard.app.precompute", "--dataset", *offline], check=True)
    print(f"\nTotal wall clock: {time.perf_counter() - total:.1f} s")


def _build_parallel(args: argparse.Namespace, names: list[str], overrides: dict, root: Path) -> None:
    """Every (dataset, name) in its own task over args.jobs worker processes, the costliest first.

    Workers start fresh (spawn), so no torch thread pool is inherited; each uses one thread (or --threads), which
    is what the cards record. Rows print as recipes finish, so they carry their dataset.
    """
    plans = sorted((recipes.recipe(name, dataset, **overrides) for dataset in args.dataset for name in names),
                   key=_cost, reverse=True)
    threads = args.threads or 1
    header = "| dataset " + HEADER.replace("\n|", "\n|---|", 1)
    print(f"{len(plans)} files for {', '.join(args.dataset)} into {root} with {args.jobs} worker processes of "
          f"{threads} torch thread{'s' if threads != 1 else ''}\n{header}", flush=True)
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn"), initializer=_init_worker,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(_build_in_worker, plan.name, plan.dataset, overrides, str(root / plan.dataset),
                               args.snapshots_only): plan for plan in plans}
        for future in as_completed(futures):
            card = future.result()
            print(f"| {futures[future].dataset} {row(card)}", flush=True)


if __name__ == "__main__":
    main()
