from pathlib import Path

import pytest

from tokenstat.catalog import CatalogError, load_catalog, shipped_catalog


@pytest.mark.parametrize(
    ("raw", "model", "author", "origin"),
    [
        ("claude-sonnet-4-20250514", "anthropic/claude-sonnet-4", "anthropic", "US"),
        ("gpt-4o-2024-08-06", "openai/gpt-4o", "openai", "US"),
        ("deepseek-chat", None, "deepseek", "CN"),
        ("qwen3-235b-a22b", "qwen/qwen3-235b-a22b", "qwen", "CN"),
        ("kimi-k2.5", "moonshotai/kimi-k2.5", "moonshotai", "CN"),
        ("glm-5", "z-ai/glm-5", "z-ai", "CN"),
        ("MiniMax-M2.5", "minimax/minimax-m2.5", "minimax", "CN"),
        ("gemini-2.5-pro", "google/gemini-2.5-pro", "google", "US"),
        ("llama-4-scout", "meta-llama/llama-4-scout", "meta-llama", "US"),
        # OpenRouter permaslugs with date suffixes and variants collapse to one model
        ("deepseek/deepseek-v3.2-20251201", "deepseek/deepseek-v3.2", "deepseek", "CN"),
        ("deepseek/deepseek-v3.2:free", "deepseek/deepseek-v3.2", "deepseek", "CN"),
        ("anthropic/claude-4-sonnet-20250522", "anthropic/claude-sonnet-4", "anthropic", "US"),
        ("anthropic/claude-3.7-sonnet:thinking", "anthropic/claude-3.7-sonnet", "anthropic", "US"),
    ],
)
def test_shipped_resolution(raw, model, author, origin):
    cat = shipped_catalog()
    resolved = cat.resolve(raw)
    if model:
        assert resolved == model
    attribution = cat.attribute(resolved)
    assert (attribution.author, attribution.origin) == (author, origin)
    assert attribution.known


def test_variants_and_dates_give_the_same_model():
    cat = shipped_catalog()
    ids = {
        cat.resolve(s)
        for s in (
            "qwen/qwen3-235b-a22b",
            "qwen/qwen3-235b-a22b:free",
            "Qwen/Qwen3-235B-A22B",
            "qwen/qwen3-235b-a22b-2025-04-28",
        )
    }
    assert ids == {"qwen/qwen3-235b-a22b"}


def test_author_slugs_of_one_lab_merge():
    cat = shipped_catalog()
    assert cat.attribute("stepfun-ai/step3").author == "stepfun"
    assert cat.attribute("stepfun/step-3.5-flash").author == "stepfun"
    assert cat.attribute("thudm/glm-4-32b").author == "z-ai"
    # even for models the catalog does not list
    assert cat.attribute("thudm/some-future-glm").author == "z-ai"
    assert cat.attribute("stepfun-ai/step-99").origin == "CN"


def test_unknown_models_are_explicit():
    cat = shipped_catalog()
    model = cat.resolve("totally-new-model-x")
    a = cat.attribute(model)
    assert (a.author, a.origin, a.known) == ("unknown", "unknown", False)
    assert cat.attribute("other").origin == "unknown"
    # a lab the catalog knows, with a model it does not: author and origin still known
    b = cat.attribute(cat.resolve("mistralai/mistral-next-2099"))
    assert (b.author, b.origin, b.known) == ("mistralai", "FR", False)


def test_openrouter_has_no_country():
    assert shipped_catalog().attribute("openrouter/auto").origin == "unknown"


def test_user_catalog_overrides_and_extends(tmp_path: Path):
    user = tmp_path / "catalog.yaml"
    user.write_text(
        """
authors:
  - {author: acme, lab: Acme AI, country: se, open_weights: "no", aliases: [acme-ai]}
  - {author: deepseek, lab: DeepSeek, country: SG}
models:
  - {model: acme/rocket-1, author: acme, aliases: [rocket-1], open_weights: true}
""",
        encoding="utf-8",
    )
    cat = load_catalog(user)
    assert cat.resolve("rocket-1") == "acme/rocket-1"
    a = cat.attribute("acme/rocket-1")
    assert (a.author, a.origin, a.open_weights) == ("acme", "SE", "open")
    assert cat.attribute("acme-ai/other-model").author == "acme"
    assert cat.attribute("deepseek/deepseek-v3.2").origin == "SG"  # correction wins
    assert shipped_catalog().attribute("deepseek/deepseek-v3.2").origin == "CN"  # untouched


def test_data_overrides_lose_to_the_user_file(tmp_path: Path):
    user = tmp_path / "catalog.yaml"
    user.write_text(
        "models:\n  - {model: acme/rocket-1, author: acme}\n"
        "authors:\n  - {author: acme, country: SE}\n",
        encoding="utf-8",
    )
    cat = load_catalog(user)
    assert cat.attribute("acme/rocket-1", ("other-lab", "FR")).origin == "SE"
    shipped = shipped_catalog()
    overridden = shipped.attribute("deepseek/deepseek-v3.2", (None, "SG"))
    assert (overridden.author, overridden.origin) == ("deepseek", "SG")


def test_default_user_file_from_env(tmp_path: Path, monkeypatch):
    user = tmp_path / "mine.yaml"
    user.write_text("authors:\n  - {author: acme, country: SE}\n", encoding="utf-8")
    monkeypatch.setenv("TOKENSTAT_CATALOG", str(user))
    assert "acme" in load_catalog().authors


def test_bad_catalog_file_names_file_and_entry(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - {model: x/y}\n", encoding="utf-8")
    with pytest.raises(
        CatalogError, match=r"bad\.yaml: models entry 1: fields 'model' and 'author'"
    ):
        load_catalog(bad)
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "missing.yaml")
