"""The catalog: who made each model (the author, a lab) and where the lab is (origin).

Shipped data lives in ``catalog/data`` (``authors.csv``, ``models.csv``). A user catalog
file (YAML, see `load_user_file`) extends or corrects it; its entries win. Attribution is
applied at query time, so a catalog correction applies to all history at once.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import pyarrow as pa
import yaml

from tokenstat.catalog.resolve import resolve_model
from tokenstat.errors import TokenstatError
from tokenstat.paths import default_user_catalog_path

UNKNOWN = "unknown"
OTHER_MODEL = "other"


class CatalogError(TokenstatError, ValueError):
    """A catalog file cannot be read."""


@dataclass(frozen=True)
class Author:
    slug: str
    lab: str
    country: str | None  # ISO 3166 alpha-2; None when not assigned
    open_weights: str  # yes | no | mixed | "" (not known)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Model:
    model: str
    author: str
    name: str = ""
    aliases: tuple[str, ...] = ()
    open_weights: bool | None = None
    released: str | None = None


@dataclass(frozen=True)
class Attribution:
    """What the catalog says of one canonical model."""

    model: str
    author: str
    origin: str
    open_weights: str  # open | closed | unknown
    known: bool  # the model itself is in the catalog

    @property
    def attributed(self) -> bool:
        return self.origin != UNKNOWN


@dataclass
class Catalog:
    authors: dict[str, Author] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    # models defined by the user's catalog file: data-given overrides do not beat them
    user_models: set[str] = field(default_factory=set)
    _author_alias: dict[str, str] = field(default_factory=dict)
    _model_alias: dict[str, str] = field(default_factory=dict)

    # ---- building -------------------------------------------------------------
    def add_author(self, author: Author) -> None:
        self.authors[author.slug] = author
        self._author_alias[author.slug] = author.slug
        for alias in author.aliases:
            self._author_alias[alias] = author.slug

    def add_model(self, model: Model) -> None:
        self.models[model.model] = model
        self._model_alias[model.model] = model.model
        for alias in model.aliases:
            self._model_alias[alias] = model.model

    def merged(self, other: Catalog) -> Catalog:
        """A new catalog: this one with ``other``'s entries added or replacing."""
        result = Catalog()
        for cat in (self, other):
            for author in cat.authors.values():
                result.add_author(author)
            for model in cat.models.values():
                result.add_model(model)
        return result

    # ---- resolving ----------------------------------------------------------------
    def canonical_author(self, slug: str | None) -> str | None:
        if not slug:
            return None
        return self._author_alias.get(slug.strip().lower())

    def resolve(self, raw: str) -> str:
        """The canonical model id of a raw model string (see `tokenstat.catalog.resolve`)."""
        if raw.strip().lower() == OTHER_MODEL:
            return OTHER_MODEL
        return resolve_model(raw, self._model_alias.get)[0]

    def resolve_many(self, raws: Iterable[str]) -> dict[str, str]:
        return {raw: self.resolve(raw) for raw in set(raws)}

    def attribute(
        self,
        model: str,
        override: tuple[str | None, str | None] | None = None,
    ) -> Attribution:
        """Author, origin and open-weights class of a canonical model id.

        ``override`` is an (author, country) pair given by the data itself (a market file's
        columns); it wins over shipped entries but not over the user's catalog file.
        """
        entry = self.models.get(model)
        author_slug = entry.author if entry else self.canonical_author(model.partition("/")[0])
        if "/" not in model and entry is None:
            author_slug = None
        author_slug = self.canonical_author(author_slug) or author_slug
        author = self.authors.get(author_slug or "")
        country = author.country if author else None
        if override and model not in self.user_models:
            o_author, o_country = override
            if o_author:
                author_slug = self.canonical_author(o_author) or o_author.strip().lower()
                author = self.authors.get(author_slug)
                country = author.country if author else None
            if o_country:
                country = o_country.strip().upper()
        open_weights = _open_weights_class(entry, author)
        return Attribution(
            model=model,
            author=author_slug if (author or (override and override[0])) else UNKNOWN,
            origin=country or UNKNOWN,
            open_weights=open_weights,
            known=entry is not None,
        )

    def attribution_table(
        self,
        models: Iterable[str],
        overrides: Mapping[str, tuple[str | None, str | None]] | None = None,
    ) -> pa.Table:
        """Arrow table (stored, model, author, origin, open_weights, known) for model ids as
        stored in a ledger.

        ``stored`` ids are resolved again with this catalog (``model`` is the result), so an
        alias or correction added later applies to all history.
        """
        overrides = overrides or {}
        stored = sorted(set(models))
        rows = []
        for m in stored:
            canonical = self.resolve(m)
            rows.append(self.attribute(canonical, overrides.get(m) or overrides.get(canonical)))
        return pa.table(
            {
                "stored": pa.array(stored, pa.string()),
                "model": pa.array([r.model for r in rows], pa.string()),
                "author": pa.array([r.author for r in rows], pa.string()),
                "origin": pa.array([r.origin for r in rows], pa.string()),
                "open_weights": pa.array([r.open_weights for r in rows], pa.string()),
                "known": pa.array([r.known for r in rows], pa.bool_()),
            }
        )


def _open_weights_class(model: Model | None, author: Author | None) -> str:
    if model is not None and model.open_weights is not None:
        return "open" if model.open_weights else "closed"
    policy = author.open_weights if author else ""
    return {"yes": "open", "no": "closed"}.get(policy, UNKNOWN)


def _split_aliases(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(a.strip().lower() for a in text.split("|") if a.strip())


def _parse_bool(value: object) -> bool | None:
    text = str(value).strip().lower() if value is not None else ""
    if text in ("yes", "true", "1", "open"):
        return True
    if text in ("no", "false", "0", "closed"):
        return False
    return None


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("tokenstat.catalog").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def shipped_catalog() -> Catalog:
    """The catalog shipped with the package."""
    catalog = Catalog()
    for row in _read_csv("authors.csv"):
        catalog.add_author(
            Author(
                slug=row["author"],
                lab=row["lab"],
                country=row["country"] or None,
                open_weights=row["open_weights"],
                aliases=_split_aliases(row["aliases"]),
            )
        )
    for row in _read_csv("models.csv"):
        catalog.add_model(
            Model(
                model=row["model"].strip().lower(),
                author=row["author"].strip().lower(),
                name=row.get("name", ""),
                aliases=_split_aliases(row.get("aliases")),
                open_weights=_parse_bool(row.get("open_weights")),
                released=row.get("released") or None,
            )
        )
    return catalog


def load_user_file(path: Path) -> Catalog:
    """Read a user catalog file.

    Format (YAML)::

        authors:
          - {author: acme, lab: Acme AI, country: US, open_weights: "no", aliases: [acme-ai]}
        models:
          - {model: acme/rocket-1, author: acme, name: Rocket 1, aliases: [rocket-1],
             open_weights: false}
    """
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read catalog file: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: a catalog file is a mapping with 'authors' and 'models'")
    catalog = Catalog()
    for n, item in enumerate(data.get("authors") or [], 1):
        if not isinstance(item, dict) or not item.get("author"):
            raise CatalogError(f"{path}: authors entry {n}: field 'author' is required")
        aliases = item.get("aliases") or []
        catalog.add_author(
            Author(
                slug=str(item["author"]).strip().lower(),
                lab=str(item.get("lab") or item["author"]),
                country=(str(item["country"]).strip().upper() if item.get("country") else None),
                open_weights=str(item.get("open_weights") or "").lower(),
                aliases=tuple(str(a).strip().lower() for a in aliases),
            )
        )
    for n, item in enumerate(data.get("models") or [], 1):
        if not isinstance(item, dict) or not item.get("model") or not item.get("author"):
            raise CatalogError(
                f"{path}: models entry {n}: fields 'model' and 'author' are required"
            )
        aliases = item.get("aliases") or []
        catalog.add_model(
            Model(
                model=str(item["model"]).strip().lower(),
                author=str(item["author"]).strip().lower(),
                name=str(item.get("name") or ""),
                aliases=tuple(str(a).strip().lower() for a in aliases),
                open_weights=_parse_bool(item.get("open_weights")),
                released=str(item["released"]) if item.get("released") else None,
            )
        )
    return catalog


def load_catalog(user_file: Path | None = None) -> Catalog:
    """Shipped catalog overlaid with the user's file (the given one, else the default path
    when it exists)."""
    base = shipped_catalog()
    path = user_file or default_user_catalog_path()
    if user_file is None and not path.exists():
        return base
    if not path.exists():
        raise CatalogError(f"{path}: catalog file not found")
    user = load_user_file(path)
    result = base.merged(user)
    result.user_models = set(user.models)
    return result


__all__ = [
    "OTHER_MODEL",
    "UNKNOWN",
    "Attribution",
    "Author",
    "Catalog",
    "CatalogError",
    "Model",
    "load_catalog",
    "shipped_catalog",
]
