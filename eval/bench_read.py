"""What reading a CSV input costs `oped score`, against csv.DictReader, in the same run.

    python -m eval.bench_read --rows 20000 --repeats 2

Writes a well-formed CSV of generated multi-paragraph texts (as pandas writes it, every text
quoted and over several lines: the case in which model.readers checks each record's quoting)
to a temporary folder, then times csv.DictReader and model.readers.raw_rows over it, in
alternating rounds. Prints seconds per round and the CPU; nothing is written to eval/results:
reading is a small part of a run (the encoder reads about 10 articles a second on 2 cores).
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from pathlib import Path

from eval.bench_score import cpu_info
from model.readers import raw_rows

WORDS = ('the minister said that talks would go on , while others "warned" of force and sanctions').split()


def write_corpus(path: Path, rows: int, seed: int = 0) -> None:
    import pandas as pd

    rng = random.Random(seed)
    texts = ["\n\n".join(" ".join(rng.choice(WORDS) for _ in range(80)) for _ in range(5)) for _ in range(rows)]
    pd.DataFrame({"id": range(rows), "text": texts, "outlet": "x"}).to_csv(path, index=False)


def dict_reader(path: Path) -> int:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return sum(1 for _ in csv.DictReader(f))


def oped_reader(path: Path) -> int:
    return sum(1 for _ in raw_rows(str(path)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.csv"
        write_corpus(path, a.rows)
        print(f"{path.stat().st_size / 1e6:.0f} MB, {a.rows} rows; CPU: {cpu_info()}")
        for _ in range(a.repeats):
            for name, read in (("csv.DictReader", dict_reader), ("model.readers.raw_rows", oped_reader)):
                start = time.perf_counter()
                n = read(path)
                print(f"{name}: {n} rows in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
