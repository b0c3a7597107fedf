"""What a training run was made from, stored in its record so that a model can be traced
back to the exact code and data: the git commit (and whether the tree had uncommitted
changes) and a fingerprint of the examples in the order they were read."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def code_version(repo: Path = REPO) -> dict:
    """{"commit": sha or None, "dirty": bool or None}; None where git or the repository is absent
    (an installed wheel)."""
    def git(*cmd):
        return subprocess.run(["git", "-C", str(repo), *cmd], capture_output=True, text=True, timeout=20)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        status = git("status", "--porcelain", "--untracked-files=no")
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def data_fingerprint(splits: dict[str, list[dict]]) -> str:
    """sha256 over every example's split, id, kind, weight, labels and text hash, in order:
    two runs with the same fingerprint saw the same data in the same order."""
    h = hashlib.sha256()
    for split in sorted(splits):
        for e in splits[split]:
            row = [split, e.get("id"), e.get("kind"), e.get("weight"), e.get("levels"),
                   hashlib.sha256(e["text"].encode("utf-8")).hexdigest()]
            h.update(json.dumps(row, sort_keys=True, default=str).encode("utf-8"))
    return h.hexdigest()
