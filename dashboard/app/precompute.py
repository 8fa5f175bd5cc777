"""Compute and store what the pages show by default on the shipped models: `python -m dashboard.app.precompute`."""

from __future__ import annotations

import argparse
import importlib
import logging
import time
from collections.abc import Callable

from dashboard.core import artifacts, data, pagemap, threads

# The pages whose first visit the build stores, by URL path: the registry's entries that name a cached module.
PAGES = tuple(page.url_path for page in pagemap.PAGES if page.cached)


def page_precomputes() -> dict[str, Callable[[str], None]]:
    """{url path: precompute(dataset)}; a registered module without precompute() is an error, never a skip."""
    found = {}
    for page in pagemap.PAGES:
        if not page.cached:
            continue
        module = importlib.import_module(f"dashboard.app.cached.{page.cached}")
        if not callable(getattr(module, "precompute", None)):
            raise AttributeError(f"dashboard.app.cached.{page.cached} (page {page.url_path}) has no precompute().")
        found[page.url_path] = module.precompute
    return found


def run(datasets: list[str], pages: list[str] | None = None) -> list[tuple[str, str, int, float]]:
    """(dataset, page, files written, seconds) for each page's precompute on each dataset that has models."""
    from dashboard.core import zoo

    report = []
    for dataset in datasets:
        if not zoo.names(dataset):
            continue
        for page, precompute in page_precomputes().items():
            if pages and page not in pages:
                continue
            start = time.perf_counter()
            with artifacts.recording() as written:
                precompute(dataset)
            report.append((dataset, page, len(written), time.perf_counter() - start))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split(":")[0])
    parser.add_argument("--dataset", nargs="+", default=list(data.OFFLINE_DATASETS), choices=data.OFFLINE_DATASETS)
    parser.add_argument("--page", nargs="+", default=None, choices=PAGES, help="only these pages (default: all)")
    args = parser.parse_args(argv)
    threads.apply_serving_policy()  # before scikit-learn and scipy load their BLAS: computed as the server computes
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # cached accessors run here without a browser session
    total = time.perf_counter()
    for dataset, page, count, seconds in run(args.dataset, args.page):
        print(f"{dataset:10s} {page:14s} {count:3d} files  {seconds:6.1f} s", flush=True)
    print(f"Total: {time.perf_counter() - total:.1f} s into {artifacts.root_for('<dataset>')}")


if __name__ == "__main__":
    main()
