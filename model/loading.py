"""Build, save and load models. A saved model is one directory:

    oped_config.json        schema, base model, chunking, provenance
    heads.safetensors       dimension heads (and attention pooling)
    adapter_config.json     \\ finetune = "lora": a peft adapter on the base encoder,
    adapter_model.safetensors/  loadable with peft like any other adapter
    config.json             \\ finetune = "full": the whole encoder, in
    model.safetensors       /  Hugging Face's own layout
    tokenizer files

Everything loads offline; only a base encoder named by a Hub id needs network.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from model.base import PACKAGED_MINILM, resolve_base_model
from model.config import CONFIG_NAME, ModelConfig
from model.modeling import OpedModel

HEADS_FILE = "heads.safetensors"
PACKAGED_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"  # what the packaged weights are, for others' tools
BUNDLED = {"default": Path(__file__).parent / "default", "fast": Path(__file__).parent / "fast"}


def _quiet_transformers():
    import warnings

    from transformers.utils import logging

    # a deprecation inside transformers' own code path, printed on every load; nothing for users to act on
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    logging.set_verbosity_error()
    logging.disable_progress_bar()


def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name_or_path)
    tok.model_max_length = 10**9  # we window texts ourselves; silence the length warning
    return tok


def load_base_encoder(name_or_path: str, layers: int = 0):
    """A pretrained encoder, cut to its first `layers` transformer layers when layers > 0
    (a smaller, faster model that still reads every token)."""
    from transformers import AutoModel

    kwargs = {"add_pooling_layer": False} if _is_bert_like(name_or_path) else {}
    encoder = AutoModel.from_pretrained(name_or_path, **kwargs)
    if layers:
        stack = getattr(getattr(encoder, "encoder", None), "layer", None)
        if stack is None:
            raise ValueError(f"encoder_layers works for BERT-style encoders; {name_or_path} has no encoder.layer")
        if not 0 < layers <= len(stack):
            raise ValueError(f"encoder_layers must be 1..{len(stack)}, not {layers}")
        encoder.encoder.layer = stack[:layers]
        encoder.config.num_hidden_layers = layers
    return encoder


def build_model(config: ModelConfig, seed: int | None = None):
    """A fresh trainable model (base encoder + new heads) and its tokenizer."""
    _quiet_transformers()
    base = resolve_base_model(config.base_model)
    if seed is not None:
        torch.manual_seed(seed)
    encoder = load_base_encoder(base, config.encoder_layers)
    if config.finetune == "lora":
        from peft import LoraConfig, get_peft_model

        targets = [t for t in config.lora_targets if any(n.endswith(t) for n, _ in encoder.named_modules())]
        if not targets:
            raise ValueError(f"none of lora_targets {list(config.lora_targets)} names a module of {base}")
        lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                          target_modules=targets)
        encoder = get_peft_model(encoder, lora)
    elif config.finetune != "full":
        raise ValueError(f"finetune must be 'lora' or 'full', not {config.finetune!r}")
    return OpedModel(encoder, config.schema, config.dropout), load_tokenizer(base)


def _is_bert_like(path: str) -> bool:
    try:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(path).model_type in ("bert",)
    except Exception:
        return False


def save_model(net: OpedModel, tokenizer, config: ModelConfig, directory: str | Path) -> Path:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    config.save(out)
    heads = {k: v.detach().float().contiguous() for k, v in net.heads.state_dict().items()}
    save_file(heads, str(out / HEADS_FILE))
    net.encoder.save_pretrained(out)
    if config.finetune == "lora" and config.base_model == PACKAGED_MINILM:
        path = out / "adapter_config.json"
        adapter = json.loads(path.read_text())
        adapter["base_model_name_or_path"] = PACKAGED_HUB_ID  # not this machine's site-packages path
        path.write_text(json.dumps(adapter, indent=2, sort_keys=True) + "\n")
    tokenizer.save_pretrained(out)
    return out


def resolve_model_dir(name_or_path: str | Path | None) -> Path:
    """'default' / 'fast' name the bundled models; anything else is a directory."""
    key = str(name_or_path or "default")
    path = BUNDLED.get(key, Path(key))
    if not (path / CONFIG_NAME).is_file():
        hint = " (the bundled model is missing from this install)" if key in BUNDLED else ""
        raise FileNotFoundError(f"no oped model at {path}{hint}: expected {CONFIG_NAME} there")
    return path


def model_version(directory: Path) -> str:
    """A short hash of the weights and config: the output's `model` column names it."""
    h = hashlib.sha256()
    for f in sorted(directory.glob("*.safetensors")) + [directory / CONFIG_NAME]:
        h.update(f.read_bytes())
    return h.hexdigest()[:10]


def base_weights_sha256(name_or_path: str) -> str | None:
    """A hash of a base encoder's weight files, recorded at training so that loading an adapter
    on other base weights (another version of the wheel, a changed local copy) is noticed; None
    for a Hub id, whose files live in a cache this code does not look into."""
    path = Path(name_or_path)
    files = (sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))) if path.is_dir() else []
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 24), b""):
                h.update(block)
    return h.hexdigest()


def base_warning(config: ModelConfig) -> str:
    """A warning when an adapter's training recorded other base weights than those found now;
    empty when they match or none was recorded (the bundled models pin the wheel instead)."""
    trained = (config.training or {}).get("base_weights")
    if config.finetune != "lora" or not trained:
        return ""
    base = resolve_base_model(config.base_model)
    found = base_weights_sha256(base)
    if found is None or found == trained:
        return ""
    return (f"{config.name} was trained on other weights of its base encoder {config.base_model} (sha256 "
            f"{trained[:12]}, found {found[:12]} at {base}): its scores here may differ from its recorded figures")


def load_network(directory: str | Path, merge: bool = True):
    """(OpedModel, tokenizer, ModelConfig) from a saved directory. A LoRA adapter is
    merged into the base weights for inference, so scoring runs a plain encoder."""
    _quiet_transformers()
    path = resolve_model_dir(directory)
    config = ModelConfig.load(path)
    if config.finetune == "lora":
        from peft import PeftModel

        base = load_base_encoder(resolve_base_model(config.base_model), config.encoder_layers)
        encoder = PeftModel.from_pretrained(base, path)
        if merge:
            encoder = encoder.merge_and_unload()
    else:
        encoder = load_base_encoder(str(path))
    net = OpedModel(encoder, config.schema, config.dropout)
    missing = net.heads.load_state_dict(load_file(str(path / HEADS_FILE)), strict=True)
    del missing
    net.eval()
    return net, load_tokenizer(str(path)), config
