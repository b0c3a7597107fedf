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
    """{"commit": sha or None, "dirty": bool or None}. None where git is absent or this code is not
    the top of its own checkout (an installed wheel, even one inside another project's repository).
    Dirty counts untracked files too (a new module not yet added changes what runs), not ignored ones."""
    unknown = {"commit": None, "dirty": None}

    def git(*cmd):
        return subprocess.run(["git", "-C", str(repo), *cmd], capture_output=True, text=True, timeout=20)

    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != Path(repo).resolve():
            return unknown
        head, status = git("rev-parse", "HEAD"), git("status", "--porcelain")
        if head.returncode != 0:
            return unknown
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}
    except (OSError, subprocess.SubprocessError):
        return unknown


def data_fingerprint(splits: dict[str, list[dict]]) -> str:
    """sha256 over every example's split, id, kind, weight, labels and text hash, in order:
    two runs with the same fingerprint saw the same texts and labels in the same order. A student's
    soft targets are not in it; its record names the teacher (teacher_model) instead."""
    h = hashlib.sha256()
    for split in sorted(splits):
        for e in splits[split]:
            row = [split, e.get("id"), e.get("kind"), e.get("weight"), e.get("levels"),
                   hashlib.sha256(e["text"].encode("utf-8")).hexdigest()]
            h.update(json.dumps(row, sort_keys=True, default=str).encode("utf-8"))
    return h.hexdigest()
