"""How much a change in window cutting moves a model's dev selection: the model's dev figures
computed as training computes them (training.soup.dev_selection), once with today's
model/chunking.py and model/text.py and once with those two files as they were at another commit
(read with `git show`, nothing checked out). The data fingerprint covers the labelled texts, not
their windows, so two runs with one fingerprint can still have read different windows.

    python -m eval.windows_effect --model default --commit 48d26ea --set exclude_pools=paragraph_round

(`--set` overrides the model's recorded training arguments where they no longer rebuild its data
fingerprint from today's label files; the fingerprint is checked.) It also counts, per split, the
examples whose windows the two cuttings make differently; `--windows-only` stops there.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def module_at(commit: str, path: str, name: str, replace: dict[str, str] | None = None) -> types.ModuleType:
    from training.provenance import git_show

    source = git_show(commit, path, REPO)
    if source is None:
        raise SystemExit(f"cannot read {path} at commit {commit} with git here (not in this checkout's history?)")
    for old, new in (replace or {}).items():
        source = source.replace(old, new)
    module = types.ModuleType(name)
    module.__file__ = f"{commit}:{path}"
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def chunk_text_at(commit: str):
    """chunk_text from `commit`, importing that commit's model.text, not today's."""
    module_at(commit, "model/text.py", "_windows_effect_text")
    old = module_at(commit, "model/chunking.py", "_windows_effect_chunking",
                    {"from model.text import": "from _windows_effect_text import"})
    return old.chunk_text


def examples_with_other_windows(splits: dict[str, list[dict]], tokenizer, max_length: int, chunk_a, chunk_b) -> dict:
    """Per split, how many examples the two cuttings give other token windows (of how many)."""
    def windows(chunk, text):
        return [c.input_ids for c in chunk(text, tokenizer, max_length)]

    return {split: {"differ": sum(windows(chunk_a, e["text"]) != windows(chunk_b, e["text"]) for e in examples),
                    "of": len(examples)} for split, examples in sorted(splits.items())}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="default")
    p.add_argument("--commit", required=True, help="the commit whose window cutting to compare with today's")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a training argument")
    p.add_argument("--windows-only", action="store_true",
                   help="only count the examples whose windows differ, and the fingerprints (seconds, not minutes)")
    p.add_argument("--out", help="write the figures to this JSON file")
    a = p.parse_args(argv)

    import training.trainer as trainer
    from model.config import ModelConfig
    from model.chunking import windowing_fingerprint
    from model.loading import load_tokenizer, resolve_model_dir
    from training.arguments import ConfigError, TrainingArguments, apply_overrides
    from training.examples import build_examples
    from training.provenance import code_version, data_fingerprint
    from training.soup import dev_selection

    path = resolve_model_dir(a.model)
    config = ModelConfig.load(path)
    record = config.training or {}
    try:
        args = TrainingArguments(**apply_overrides(record["arguments"], a.set))
    except ConfigError as e:
        raise SystemExit(str(e)) from None
    splits = build_examples(args, config.schema)
    if data_fingerprint(splits) != record.get("data_sha256"):
        raise SystemExit("these training arguments do not rebuild the model's data fingerprint from today's label "
                         "files; name the keys that changed with --set")
    precision = record["precision"]
    chunk_then = chunk_text_at(a.commit)
    chunk_now = trainer.chunk_text
    tokenizer = load_tokenizer(str(path))
    windowing = {"today": windowing_fingerprint(tokenizer, config.max_length),
                 a.commit: windowing_fingerprint(tokenizer, config.max_length, chunk_then),
                 "recorded": record.get("windowing")}
    other = examples_with_other_windows(splits, tokenizer, config.max_length, chunk_now, chunk_then)
    result = {"model": a.model, "path": str(path), "windowing_fingerprints": windowing,
              "examples_with_other_windows": other, "trained_by": record.get("code"),
              "code": code_version(), "command": "python -m eval.windows_effect " + " ".join(argv or sys.argv[1:])}
    print(f"examples whose windows differ between today's cutting and {a.commit}'s: "
          + ", ".join(f"{k} {v['differ']} of {v['of']}" for k, v in other.items()))
    if not a.windows_only:
        today = dev_selection(path, splits["dev"], precision)
        trainer.chunk_text = chunk_then  # trainer.tokenize cuts the dev texts with this name
        try:
            then = dev_selection(path, splits["dev"], precision)
        finally:
            trainer.chunk_text = chunk_now
        result.update({"recorded_selection": (record.get("dev") or {}).get("selection"), "windows_today": today,
                       f"windows_of_{a.commit}": then, "dev_articles": len(splits["dev"]), "precision": precision,
                       "cpu": trainer.cpu_model()})
        print(f"{path}: dev selection recorded in training {result['recorded_selection']:.6f}; "
              f"with today's windows {today['selection']:.6f}; with the windows of {a.commit} {then['selection']:.6f} "
              f"({len(splits['dev'])} dev articles, {precision} autocast, {result['cpu']})")
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
