"""Copy the screenshots of e2e/test_screenshots.py into docs/ux/, small.

    .venv/bin/python scripts/ux_screens.py before   # tests/artifacts/screenshots/before/*.png
                                                    # -> docs/ux/<page>-<width>-before.png

Each picture is reduced to a 128-colour palette (text stays sharp, the file is a
fraction of the size) and saved optimised, so docs/ux.md can show before and after
without weighing on the repository.
"""

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "artifacts" / "screenshots"
TARGET = ROOT / "docs" / "ux"


def copy_small(label: str) -> list[Path]:
    TARGET.mkdir(parents=True, exist_ok=True)
    written = []
    for png in sorted((SOURCE / label).glob("*.png")):
        with Image.open(png) as image:
            small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
            path = TARGET / f"{png.stem}-{label}.png"
            small.save(path, optimize=True)
            written.append(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/ux_screens.py LABEL")
    for path in copy_small(sys.argv[1]):
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KiB")
