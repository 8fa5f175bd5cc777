"""Where the app's shipped files live: the repository root, models/ and assets/."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = ROOT / "models"
ASSETS_DIR = ROOT / "assets"
