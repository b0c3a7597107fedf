"""A weight average ("soup") of several runs of one recipe: one model, of the members' size
and speed, instead of an ensemble that would multiply scoring time.

Every member is a LoRA adapter on the same frozen base encoder plus linear heads. The mean of
the members' weight changes, (1/k) sum_i s B_i A_i with s = alpha / r, is itself one adapter of
rank k * r: the A matrices stacked, the B matrices side by side and each divided by k, and alpha
times k so that s is unchanged. The heads are averaged tensor by tensor. After merging, the
soup's encoder weights are exactly the mean of the members' merged weights. Its outputs are near
the mean of the members' outputs only while the runs stay close in weight space; each run's heads
start from their own random initialisation, so that is not given: on the default recipe an average
of three seeds scored below two of them on dev (eval/results/training_variants.md).

    python -m training.soup model/default runs/all_s14 runs/all_s15 --out runs/soup3

The soup's dev selection is computed as training computes it (training.trainer.dev_metrics under
the autocast precision the members recorded, on the dev examples they were selected on), and each
member's is computed again the same way, by this code on this machine. A member trained by other
code (a change in how articles are cut into windows changes the dev examples' windows) or on
another kind of CPU may not give its recorded figure here, so the soup is compared with its
members' figures recomputed here (a warning says when they differ from the record). Members
trained at different commits get a warning too: they may differ in more than their seed. Its
model card is written as `oped train` writes one, and names each member's commit.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from model.config import ModelConfig
from model.loading import HEADS_FILE, load_network, load_tokenizer, model_version, resolve_model_dir

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
# what must be equal for the members' weights to live in one space
SAME = ("base_model", "finetune", "encoder_layers", "max_length", "lora_r", "lora_alpha", "lora_targets")
# training arguments that may differ between members: the seed (the point of averaging), where a run
# was written and on what device, and the keys that select the data, which the fingerprint covers
# (the bundled default records exclude_pools "" from before a later round's labels existed)
NOT_RECIPE = {"seed", "output_dir", "device", "precision", "data", "corpus", "annotations", "synthetic",
              "use_paragraphs", "use_synthetic", "synthetic_files", "exclude_pools", "train_file", "dev_file",
              "test_file", "text_field", "dev_fraction"}


class SoupError(ValueError):
    pass


class SoupEvaluationError(SoupError):
    """The average was saved; the dev/test evaluation or the card after it failed."""


def _read(path: Path, read):
    """read(path), with an unreadable or malformed model file reported as a SoupError naming the model."""
    try:
        return read(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        if isinstance(e, SoupError):
            raise
        raise SoupError(f"{path}: not a readable oped model ({type(e).__name__}: {e})") from e


def read_members(members: list[str | Path]) -> tuple[list[Path], list[ModelConfig]]:
    """The members' folders and configs; each must hold the training record `oped train` writes."""
    paths = [_read(m, resolve_model_dir) for m in members]
    configs = [_read(p, ModelConfig.load) for p in paths]
    from training.arguments import TrainingArguments

    for p, c in zip(paths, configs):
        t = c.training or {}
        if not isinstance(t.get("arguments"), dict) or not t.get("data_sha256"):
            raise SoupError(f"{p}: its oped_config.json holds no training record with arguments and a data "
                            "fingerprint: was it written by `oped train`?")
        _read(p, lambda _: TrainingArguments(**t["arguments"]))  # arguments this code no longer knows
    return paths, configs


def check_members(configs: list[ModelConfig]) -> str:
    """Refuse members that do not share one weight space and one data set; returns the
    precision (autocast) they were selected on dev in, which the soup's selection uses too."""
    if len(configs) < 2:
        raise SoupError("a weight average needs at least two models")
    first = configs[0]
    for c in configs:
        if c.finetune != "lora":
            raise SoupError(f"only LoRA models can be averaged this way ({c.name} is finetune={c.finetune!r})")
        for key in SAME:
            if getattr(c, key) != getattr(first, key):
                raise SoupError(f"the models differ in {key}: {getattr(first, key)!r} vs {getattr(c, key)!r}")
        if c.schema.to_dict() != first.schema.to_dict():
            raise SoupError("the models score different task schemas")
    from training.arguments import TrainingArguments

    recipes = [{k: v for k, v in TrainingArguments(**(c.training or {}).get("arguments", {})).to_dict().items()
                if k not in NOT_RECIPE} for c in configs]
    for recipe in recipes[1:]:
        differ = sorted(k for k in recipe if recipe[k] != recipes[0][k])
        if differ:
            raise SoupError(f"the models were trained with different recipes ({', '.join(differ)}): a weight "
                            "average is made of runs that differ only in their seed")
    if recipes[0]["teacher"]:
        raise SoupError("distilled students are not averaged here (their data includes the teacher's soft targets)")
    prints = {(c.training or {}).get("data_sha256") for c in configs}
    if len(prints) != 1 or None in prints:
        raise SoupError(f"the models were trained on different or unrecorded data (fingerprints {sorted(map(str, prints))}): "
                        "a weight average is made of runs of one recipe on one data set")
    precisions = {(c.training or {}).get("precision") for c in configs}
    if len(precisions) != 1 or not precisions <= {"bf16", "fp32"}:
        raise SoupError(f"the models were selected on dev in different or unrecorded precisions ({sorted(map(str, precisions))})")
    return precisions.pop()


def check_adapter_configs(configs: list[dict]) -> dict:
    """The members' peft adapter configs must agree (but for where the base came from), and be
    plain LoRA: one rank and one alpha for every module, scaled alpha / r. Returns the first."""
    def plain(c):  # peft writes target_modules from a set: its order varies between runs
        return {k: sorted(v) if k == "target_modules" and isinstance(v, list) else v
                for k, v in c.items() if k != "base_model_name_or_path"}

    first = configs[0]
    if any(plain(c) != plain(first) for c in configs[1:]):
        raise SoupError("the adapters were configured differently (adapter_config.json)")
    if first.get("rank_pattern") or first.get("alpha_pattern") or first.get("use_rslora") or first.get("use_dora"):
        raise SoupError("adapters with per-module ranks, rsLoRA scaling or DoRA are not averaged here")
    return first


def check_output(out: Path, members: list[Path]) -> None:
    """Never write over a member or another model: the soup goes to a new or empty folder."""
    if any(out.resolve() == m.resolve() for m in members):
        raise SoupError(f"{out} is one of the models being averaged; write the average to a new folder")
    if (out.exists() and any(out.glob("*.safetensors"))) or (out / "oped_config.json").exists():
        raise SoupError(f"{out} already holds a model; write the average to a new folder")


def average_adapters(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """One adapter whose B @ A is the mean of the members' B_i @ A_i (same scale s)."""
    k = len(states)
    keys = set(states[0])
    if any(set(s) != keys for s in states):
        raise SoupError("the adapters hold different tensors")
    out = {}
    for key in sorted(keys):
        parts = [s[key].float() for s in states]
        if key.endswith("lora_A.weight"):  # [r, in] each: stacked to [k r, in]
            out[key] = torch.cat(parts, 0).contiguous()
        elif key.endswith("lora_B.weight"):  # [out, r] each: side by side to [out, k r], / k
            out[key] = (torch.cat(parts, 1) / k).contiguous()
        else:
            raise SoupError(f"the adapter holds {key}, which is not a LoRA A or B matrix: averaging it is not defined here")
    return out


def average_heads(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    keys = set(states[0])
    if any(set(s) != keys for s in states):
        raise SoupError("the heads hold different tensors")
    return {key: torch.stack([s[key].float() for s in states]).mean(0).contiguous() for key in sorted(keys)}


def _commit_name(code: dict | None) -> str:
    commit = (code or {}).get("commit")
    if not commit:
        return "unrecorded"
    return commit[:7] + ("+dirty" if (code or {}).get("dirty") else "")


def code_commits(configs: list[ModelConfig]) -> list[str]:
    """The distinct commits (short, "+dirty" where the tree was) the members were trained by."""
    return sorted({_commit_name((c.training or {}).get("code")) for c in configs})


def _member_facts(path: Path, config: ModelConfig) -> dict:
    t = config.training or {}
    return {"path": str(path), "model": f"{config.name}@{model_version(path)}", "seed": (t.get("arguments") or {}).get("seed"),
            "best_epoch": t.get("best_epoch"), "dev": t.get("dev"), "code": t.get("code"), "seconds": t.get("seconds"),
            "cpu": t.get("cpu"), "windowing": t.get("windowing")}


def recipe_arguments(configs: list[ModelConfig]):
    """The members' training arguments that rebuild their data today (label files grow: an older
    member's own arguments may no longer give its fingerprint), with the examples they build."""
    from training.arguments import TrainingArguments
    from training.examples import build_examples
    from training.provenance import data_fingerprint

    wanted = configs[0].training["data_sha256"]
    for c in reversed(configs):  # the newest runs are the likeliest to match today's files
        args = TrainingArguments(**c.training["arguments"])
        splits = build_examples(args, c.schema)
        if data_fingerprint(splits) == wanted:
            return args, splits
    raise SoupError(f"no member's training arguments rebuild the data fingerprint {wanted[:16]} from today's label "
                    "files, so the dev examples the members were selected on cannot be rebuilt")


def dev_selection(model_dir: str | Path, dev_examples: list[dict], precision: str) -> dict:
    """Dev figures exactly as training computes them for epoch selection: the adapter unmerged,
    fp32 weights, under the training run's autocast precision ("bf16" or "fp32")."""
    from model.inference import Scorer
    from training.trainer import dev_metrics, predict, tokenize

    net, tokenizer, config = load_network(model_dir, merge=False)
    scorer = Scorer(net, tokenizer, config, "dev", device="cpu", dtype=precision, autocast=True)
    examples = tokenize(dev_examples, tokenizer, config.max_length)
    with torch.no_grad():
        return dev_metrics(config.schema, examples, predict(scorer, examples))


def make_soup(members: list[str | Path], out: str | Path, log=print) -> dict:
    """Average the members into `out`; returns the soup's training record."""
    from training.provenance import code_version
    from training.trainer import cpu_model

    started = time.time()
    code = code_version()
    paths, configs = read_members(members)
    precision = check_members(configs)
    adapter = check_adapter_configs([_read(p, lambda p: json.loads((p / ADAPTER_CONFIG).read_text())) for p in paths])
    out = Path(out)
    check_output(out, paths)
    if len({model_version(p) for p in paths}) < len(paths):
        log("warning: some of these models are the same weights; the average counts each as often as it is named")
    commits = code_commits(configs)
    if len(commits) > 1:
        log(f"warning: the models were trained by different code ({', '.join(commits)}): the data fingerprint covers "
            "their labelled texts, not how the code cut them into windows (the windowing fingerprint does, where "
            "recorded) or anything else it did, so they may differ in more than their seed")
    windowings = {(c.training or {}).get("windowing") for c in configs}
    if len(windowings) > 1:
        log("warning: the models were trained on " + ("different token windows" if None not in windowings else
            "token windows not all recorded") + f" (windowing fingerprints {', '.join(sorted(str(w)[:16] for w in windowings))}): "
            "an average of runs that read their texts differently; the soup records no windowing of its own")
    bases = {(c.training or {}).get("base_weights") for c in configs}
    if len(bases - {None}) > 1:  # adapters are deltas on their base: on different bases they do not add up
        raise SoupError(f"the models' adapters sit on different base weights ({', '.join(sorted(b[:12] for b in bases - {None}))}); "
                        "average runs trained on one base encoder")
    args, splits = recipe_arguments(configs)
    k = len(paths)
    # read every member's weights before the output folder exists: a missing file leaves nothing behind
    adapters = [_read(p, lambda p: load_file(str(p / ADAPTER_WEIGHTS))) for p in paths]
    heads = [_read(p, lambda p: load_file(str(p / HEADS_FILE))) for p in paths]
    out.mkdir(parents=True, exist_ok=True)
    save_file(average_adapters(adapters), str(out / ADAPTER_WEIGHTS))
    save_file(average_heads(heads), str(out / HEADS_FILE))
    adapter["r"], adapter["lora_alpha"] = k * configs[0].lora_r, k * configs[0].lora_alpha
    (out / ADAPTER_CONFIG).write_text(json.dumps(adapter, indent=2, sort_keys=True) + "\n")
    load_tokenizer(str(paths[0])).save_pretrained(out)
    first = configs[0]
    soup = ModelConfig(schema=first.schema, base_model=first.base_model, max_length=first.max_length,
                       finetune="lora", encoder_layers=first.encoder_layers, lora_r=k * first.lora_r,
                       lora_alpha=k * first.lora_alpha, lora_dropout=first.lora_dropout, lora_targets=first.lora_targets,
                       dropout=first.dropout, name=f"{first.name}-average{k}")
    facts = [_member_facts(p, c) for p, c in zip(paths, configs)]
    # the members' recipe; its seed is theirs (listed under soup.members), its LoRA rank theirs too
    recipe = {**args.to_dict(), "seed": None, "output_dir": str(out), "name": soup.name}
    soup.training = {"arguments": recipe, "soup": {"members": facts}, "history": [], "best_epoch": None,
                     "dev": {}, "examples": first.training.get("examples"), "data_sha256": first.training["data_sha256"],
                     # the members' windows, where they share one: the soup was trained on nothing else
                     "windowing": windowings.pop() if len(windowings) == 1 else None,
                     "base_weights": bases.pop() if len(bases) == 1 else None,
                     "code": code, "cpu": cpu_model(), "device": "cpu", "torch": torch.__version__,
                     "precision": precision}
    soup.save(out)
    log("dev selection of each member, recomputed here as training computes it:")
    for f in facts:
        f["dev_recomputed"] = dev_selection(f["path"], splits["dev"], precision)
        recorded = (f["dev"] or {}).get("selection")
        f["dev_recomputed_matches_record"] = recorded is not None and abs(f["dev_recomputed"]["selection"] - recorded) < 1e-9
        log(f"  {f['model']} (seed {f['seed']}): {f['dev_recomputed']['selection']:.4f} "
            f"(recorded in training: {recorded if recorded is None else round(recorded, 4)})")
        if not f["dev_recomputed_matches_record"]:
            log(f"  warning: {f['path']} gives another dev selection here than in its training (trained by code "
                f"{_commit_name(f['code'])} on {f['cpu']}): other code or another kind of CPU; compare the "
                "average with the figures recomputed here")
    soup.training["dev"] = dev_selection(out, splits["dev"], precision)
    soup.training["seconds"] = round(time.time() - started, 1)
    soup.save(out)  # again with its dev figures (the model's version hash covers this file)
    log(f"soup of {k}: dev selection {soup.training['dev']['selection']:.4f} "
        f"(stance macro-F1 {soup.training['dev']['stance_macro_f1']:.4f}, "
        f"sovereignty macro-F1 {soup.training['dev']['sovereignty_macro_f1']:.4f}); saved {out}")
    return soup.training


def average_and_report(members: list[str], out: str, card: bool = True, log=print) -> dict:
    """make_soup, then (codebook models) the dev and test evaluation and the model card, as
    `oped train` writes them."""
    if card:
        # imported before any work, so that the card comes from the code the record names (training/run.py)
        import eval.model_card  # noqa: F401
        import training.annotation.build_labels  # noqa: F401
    record = make_soup(members, out, log=log)
    if not card or record["arguments"].get("data") != "codebook":
        return record
    from eval.model_card import evaluate_codebook_model, write_model_card
    from training.arguments import TrainingArguments

    try:
        report = evaluate_codebook_model(out, TrainingArguments(**record["arguments"]))
        (Path(out) / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
        write_model_card(out, record, report, f"python -m training.soup {' '.join(map(str, members))} --out {out}")
    except (OSError, ValueError, KeyError, TypeError) as e:
        # the model is saved and usable: say so, rather than blame the members
        raise SoupEvaluationError(f"the average is saved in {out}, but its dev/test evaluation or model card failed "
                                  f"({type(e).__name__}: {e}); `python -m eval.model_card {out}` retries them") from e
    log(f"model card: {Path(out) / 'README.md'}")
    return {**record, "report": report}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("members", nargs="+", help="model directories (or 'default'), runs of one recipe")
    p.add_argument("--out", required=True)
    p.add_argument("--no-card", action="store_true", help="skip the dev/test evaluation and model card")
    a = p.parse_args(argv)
    average_and_report(a.members, a.out, card=not a.no_card)


if __name__ == "__main__":
    main()
