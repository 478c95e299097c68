"""Names people type: models, keys and option values, matched case-insensitively."""

from __future__ import annotations

import pytest

from tokenstat.catalog import Author, Catalog, Model, load_catalog
from tokenstat.catalog.names import (
    LISTED,
    AmbiguousNameError,
    UnknownNameError,
    match_choice,
    match_key,
    match_model,
    pair_dimension,
)
from tokenstat.errors import TokenstatError


@pytest.fixture
def catalog() -> Catalog:
    cat = Catalog()
    cat.add_author(Author("deepseek", "DeepSeek", "CN", "yes"))
    cat.add_author(Author("openai", "OpenAI", "US", "mixed", aliases=("open-ai",)))
    for model, author, aliases in [
        ("deepseek/deepseek-chat", "deepseek", ("deepseek-chat",)),
        ("deepseek/deepseek-r1", "deepseek", ()),
        ("deepseek/deepseek-v3.2", "deepseek", ()),
        ("openai/gpt-4", "openai", ()),
        ("openai/gpt-4o", "openai", ()),
    ]:
        cat.add_model(Model(model, author, aliases=aliases))
    return cat


def test_exact_id_in_any_case(catalog):
    assert match_model("OpenAI/GPT-4o", catalog.resolve, catalog.models) == "openai/gpt-4o"


def test_alias_through_the_catalog(catalog):
    assert match_model("deepseek-chat", catalog.resolve, catalog.models) == (
        "deepseek/deepseek-chat"
    )


def test_a_part_of_one_id(catalog):
    assert match_model("v3.2", catalog.resolve, catalog.models) == "deepseek/deepseek-v3.2"


def test_a_whole_name_beats_a_longer_one(catalog):
    # gpt-4 is a part of gpt-4o too, but it is the whole name after the slash of one id
    assert match_model("gpt-4", catalog.resolve, catalog.models) == "openai/gpt-4"


def test_ambiguous_name_lists_the_ids(catalog):
    with pytest.raises(AmbiguousNameError) as caught:
        match_model("deepseek", catalog.resolve, catalog.models)
    error = caught.value
    assert str(error) == (
        "deepseek matches 3 models: deepseek/deepseek-chat, deepseek/deepseek-r1, "
        "deepseek/deepseek-v3.2"
    )
    assert error.matches == (
        "deepseek/deepseek-chat",
        "deepseek/deepseek-r1",
        "deepseek/deepseek-v3.2",
    )
    assert isinstance(error, TokenstatError) and error.hint


def test_the_listing_is_capped():
    ids = [f"acme/model-{i:02d}" for i in range(LISTED + 4)]
    with pytest.raises(AmbiguousNameError) as caught:
        match_model("model", lambda raw: raw, ids)
    text = str(caught.value)
    assert text.startswith(f"model matches {LISTED + 4} models: acme/model-00, ")
    assert text.endswith(", and 4 more")
    assert "acme/model-08" not in text  # the ninth is not listed


def test_unknown_model_suggests_close_ids(catalog):
    with pytest.raises(UnknownNameError) as caught:
        match_model("gpt-4x", catalog.resolve, catalog.models)
    assert "unknown model 'gpt-4x'" in str(caught.value)
    assert "did you mean" in str(caught.value)
    assert "openai/gpt-4" in str(caught.value)


def test_accept_admits_a_priceable_id(catalog):
    assert (
        match_model("acme/rocket", catalog.resolve, catalog.models, accept=lambda m: True)
        == "acme/rocket"
    )
    with pytest.raises(UnknownNameError):
        match_model("acme/rocket", catalog.resolve, catalog.models, accept=lambda m: False)


def test_deepseek_is_ambiguous_in_the_shipped_catalog():
    shipped = load_catalog(None)
    count = sum(1 for m in shipped.models if "deepseek" in m)
    with pytest.raises(AmbiguousNameError) as caught:
        match_model("deepseek", shipped.resolve, shipped.models)
    assert str(caught.value).startswith(f"deepseek matches {count} models: ")
    assert count > 2


def test_match_key_any_case_and_by_name():
    keys = ["CN", "US", "deepseek/deepseek-chat", "openai/gpt-4o"]
    assert match_key("cn", keys, what="origin") == "CN"
    assert match_key("GPT-4O", keys, what="model") == "openai/gpt-4o"
    with pytest.raises(UnknownNameError) as caught:
        match_key("CX", ["CN", "US"], what="origin")
    assert str(caught.value) == "no origin named 'CX' in the data; did you mean CN?"


def test_match_choice_with_synonyms():
    dims = ("model", "author", "origin")
    assert match_choice("Country", dims, what="dimension", synonyms={"country": "origin"}) == (
        "origin"
    )
    assert match_choice("MODEL", dims, what="dimension") == "model"
    with pytest.raises(UnknownNameError) as caught:
        match_choice("modle", dims, what="dimension", option="--by")
    assert str(caught.value) == (
        "--by: unknown dimension 'modle'; did you mean model? choose one of: model, author, origin"
    )


def test_pair_dimension(catalog):
    assert pair_dimension("cn", "US", catalog) == "origin"
    assert pair_dimension("DeepSeek", "open-ai", catalog) == "author"
    assert pair_dimension("deepseek-chat", "gpt-4o", catalog) == "model"
    # the names disagree: A decides, so B's typo is reported against origins
    assert pair_dimension("CN", "XX", catalog) == "origin"
