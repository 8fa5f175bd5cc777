"""Command line: python -m bench [--quick] [--json FILE] [--only SECTION ...]."""

from __future__ import annotations

import argparse
import json

from dashboard.core import threads

from . import discover, run, to_markdown


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure Latent Lab's quality and speed targets.")
    parser.add_argument("--quick", action="store_true", help="smaller samples and no retraining (for CI)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--only", nargs="*", help=f"sections to run: {', '.join(discover())}")
    args = parser.parse_args()
    # Speed rows describe the app, so the benchmark runs under the server's thread policy.
    print(f"threads per operation: {threads.apply_serving_policy()} (the server's policy)")
    rows = run(quick=args.quick, only=args.only)
    print(to_markdown(rows))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump([r.as_dict() for r in rows], handle, indent=1)
    missed = [r for r in rows if r.ok is False]
    print(f"\n{len(rows)} rows, {len(missed)} targets missed")


if __name__ == "__main__":
    main()
