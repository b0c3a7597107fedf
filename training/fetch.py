"""`oped data fetch`: rebuild the AllSides foreign-policy corpus from its public
source (ramybaly/Article-Bias-Prediction, Apache-2.0), for users with network.

The output has the same rows and fields as the shared corpus, so the project's
labels (keyed by "allsides:" + the dataset's ID and a text hash) join to it.
"""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from pathlib import Path

SOURCE_ZIP = "https://codeload.github.com/ramybaly/Article-Bias-Prediction/zip/refs/heads/main"
TOPICS = {
    "middle_east", "world", "national_security", "foreign_policy", "terrorism", "north_korea", "us_military",
    "defense", "state_department", "russia", "national_defense", "great_britain", "isis", "china", "europe",
    "israel", "asia", "cia", "nuclear_weapons", "palestine", "africa", "south_korea",
}


def convert(record: dict) -> dict | None:
    """One source JSON record -> one corpus row, or None when off-topic."""
    if record.get("topic") not in TOPICS or not record.get("content_original"):
        return None
    return {"id": f"allsides:{record['ID']}", "title": record.get("title"), "text": record["content_original"],
            "outlet": record.get("source"), "date": record.get("date") or None, "topic": record.get("topic"),
            "outlet_lean": record.get("bias_text"), "url": record.get("url")}


def fetch_corpus(out: str | Path, source: str = SOURCE_ZIP) -> int:
    """Download (or read, for a local path) the source archive and write the corpus JSONL."""
    if Path(source).is_file():
        data = Path(source).read_bytes()
    else:
        try:
            with urllib.request.urlopen(source, timeout=120) as resp:
                data = resp.read()
        except OSError as e:
            raise RuntimeError(f"could not download {source} ({e}); offline, use --corpus with a local copy") from None
    rows = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in sorted(z.namelist()):
            if "/data/jsons/" in name and name.endswith(".json"):
                row = convert(json.loads(z.read(name)))
                if row:
                    rows.append(row)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        for row in sorted(rows, key=lambda r: r["id"]):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)
