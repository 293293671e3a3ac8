"""Print a fingerprint of every PDF under a folder: sha256 of its content with the
creation and modification dates masked (WeasyPrint stamps the render time there).

    .venv/bin/python scripts/pdf_fingerprint.py var/media > before.txt
    # … change the code, render the demo again (make demo-reset) …
    .venv/bin/python scripts/pdf_fingerprint.py var/media | diff before.txt -

Every stream is inflated before hashing and the cross-reference table (byte
offsets) is left out, so two PDFs that differ only in the render time have the same
fingerprint, and any other difference (a figure, a font subset, the layout) changes it.
"""

from __future__ import annotations

import hashlib
import re
import sys
import zlib
from pathlib import Path

STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
DATE = re.compile(rb"/(CreationDate|ModDate)\s*\(D:[^)]*\)")


def fingerprint(data: bytes) -> str:
    digest = hashlib.sha256()
    for match in STREAM.finditer(data):
        if b"/XRef" in data[max(match.start() - 300, 0):match.start()].rpartition(b"obj")[2]:
            continue  # the cross-reference table: byte offsets, which move with the dates' compressed size
        try:
            body = zlib.decompress(match.group(1))
        except zlib.error:
            body = match.group(1)
        digest.update(DATE.sub(rb"/\1()", body))
    return digest.hexdigest()[:16]


def main(root: str) -> None:
    for path in sorted(Path(root).rglob("*.pdf")):
        print(fingerprint(path.read_bytes()), path.relative_to(root))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "var/media")
