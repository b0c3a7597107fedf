import pytest

from model.schema import CODEBOOK_TASK, SchemaError, TaskSchema
from training.arguments import ConfigError, load_arguments


def write(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_default_config_loads():
    args = load_arguments("training/configs/default.toml")
    assert args.schema() == CODEBOOK_TASK
    assert args.finetune == "lora"


def test_set_overrides_are_typed():
    args = load_arguments("training/configs/default.toml", ["epochs=2", "use_synthetic=false", "learning_rate=1e-4"])
    assert (args.epochs, args.use_synthetic, args.learning_rate) == (2, False, 1e-4)


@pytest.mark.parametrize("text,message", [
    ("epochs = 0", "epochs must be at least 1"),
    ("finetune = 'half'", "finetune must be"),
    ("bogus = 1", "unknown config keys"),
    ("data = 'jsonl'", "needs train_file"),
    ("epochs = [", "not valid TOML"),
    ("balance_paragraph_sides = true\nuse_paragraphs = false", "balance_paragraph_sides needs"),
    ("[task]\nname='x'\n[[task.dimensions]]\nname='s'\nlabel_field='y'\nlevels=[0,1]\nclasses=['a','b']\n"
     "level_class=[0,0]", "every class needs at least one level"),
])
def test_bad_configs_name_the_problem(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_arguments(write(tmp_path, text))


def test_bad_overrides(tmp_path):
    with pytest.raises(ConfigError, match="expected an integer"):
        load_arguments(None, ["epochs=many"])
    with pytest.raises(ConfigError, match="unknown key"):
        load_arguments(None, ["nope=1"])
    with pytest.raises(ConfigError, match="not found"):
        load_arguments(tmp_path / "missing.toml")


def test_schema_round_trip_and_errors():
    assert TaskSchema.from_dict(CODEBOOK_TASK.to_dict()) == CODEBOOK_TASK
    with pytest.raises(SchemaError, match="no dimensions"):
        TaskSchema.from_dict({"name": "x", "dimensions": []})
    with pytest.raises(SchemaError, match="not one of"):
        CODEBOOK_TASK["stance"].level_index(3)
