"""What a training run was made from, stored in its record so that a model can be traced
back to the exact code and data: the git commit (and whether the tree had uncommitted
changes) and a fingerprint of the examples in the order they were read."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _git(repo: Path, *cmd) -> subprocess.CompletedProcess:
    """git -C repo cmd...; OSError or SubprocessError where git is absent or hangs."""
    return subprocess.run(["git", "-C", str(repo), *cmd], capture_output=True, text=True, timeout=20)


def code_version(repo: Path = REPO) -> dict:
    """{"commit": sha or None, "dirty": bool or None}. None where git is absent or this code is not
    the top of its own checkout (an installed wheel, even one inside another project's repository).
    Dirty counts untracked files too (a new module not yet added changes what runs), not ignored ones."""
    unknown = {"commit": None, "dirty": None}
    try:
        top = _git(repo, "rev-parse", "--show-toplevel")
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != Path(repo).resolve():
            return unknown
        head, status = _git(repo, "rev-parse", "HEAD"), _git(repo, "status", "--porcelain")
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


def last_commit(path: str | Path, repo: Path = REPO) -> str | None:
    """The short hash of the last commit that changed a file; None where git cannot say."""
    try:
        r = _git(repo, "log", "-1", "--format=%h", "--", str(Path(path).resolve()))
    except (OSError, subprocess.SubprocessError):
        return None
    return (r.stdout.strip() or None) if r.returncode == 0 else None


def git_show(commit: str, path: str, repo: Path = REPO) -> str | None:
    """The text of `path` as `commit` held it; None where git or that commit is not available here."""
    try:
        r = _git(repo, "show", f"{commit}:{path}")
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def _argument_defaults(source: str) -> dict:
    """The literal defaults of TrainingArguments as a commit's training/arguments.py declares them
    (read, not imported: that commit's code may not import here). field(default_factory=dict) is {}."""
    import ast

    defaults = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == "TrainingArguments":
            for item in node.body:
                if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.value):
                    continue
                value = item.value
                if isinstance(value, ast.Call) and any(k.arg == "default_factory" for k in value.keywords):
                    factory = next(k.value for k in value.keywords if k.arg == "default_factory")
                    if isinstance(factory, ast.Name) and factory.id in ("dict", "list"):
                        defaults[item.target.id] = {} if factory.id == "dict" else []
                    continue
                try:
                    defaults[item.target.id] = ast.literal_eval(value)
                except ValueError:  # not a literal: left out, so the recorded value is set explicitly
                    pass
    return defaults


def _set_value(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def reproduce_command(record: dict, config_file: str, output_dir: str, program: str = "oped train",
                      repo: Path = REPO) -> str | None:
    """The command that retrains a model from its record: at the commit that trained it, its
    config file as that commit held it, and a --set for every recorded argument that file and that
    commit's defaults do not give (a config file edited after the run, as the default's was). None
    where the commit is unrecorded or this checkout cannot read it (git absent, a shallow clone)."""
    import shlex
    import tomllib

    commit = ((record or {}).get("code") or {}).get("commit")
    if not commit or (record.get("arguments") or {}).get("task"):  # a [task] table cannot be given by --set
        return None
    config_text, arguments_text = git_show(commit, config_file, repo), git_show(commit, "training/arguments.py", repo)
    if config_text is None or arguments_text is None:
        return None
    given = {**_argument_defaults(arguments_text), **tomllib.loads(config_text)}
    recorded = {k: v for k, v in record["arguments"].items() if k not in ("output_dir", "task")}
    sets = [f"output_dir={output_dir}"] + [f"{k}={_set_value(v)}" for k, v in sorted(recorded.items())
                                           if k not in given or given[k] != v]
    return (f"git checkout {commit[:7]} && {program} --config {config_file} "
            + " ".join(f"--set {shlex.quote(s)}" for s in sets))
