"""Names people type: models, authors, origins, group keys and option values.

Every match is case-insensitive. A model name resolves, in order, to: a canonical id
(of the catalog or of the ledger) spelled exactly; what the catalog's aliases and rules
make of it, when the result is a known id; the one known id it is a part of (``kimi-k2.5``
is ``moonshotai/kimi-k2.5``). A name that is part of several ids is ambiguous and an
error lists them; an unknown name is an error with the closest known names
("did you mean").
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence

from tokenstat.errors import QueryError

LISTED = 8  # candidates an ambiguity error names before "and N more"
SUGGESTED = 3  # "did you mean" suggestions


class NameMatchError(QueryError, LookupError):
    """A typed name does not name exactly one thing (a `QueryError`: what was asked for
    cannot be given)."""


class UnknownNameError(NameMatchError):
    """A typed name matches nothing known."""


class AmbiguousNameError(NameMatchError):
    """A typed name matches several things; ``matches`` lists them."""

    def __init__(self, message: str, *, matches: Sequence[str] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.matches = tuple(matches)


def suggestions(
    text: str, known: Iterable[str], n: int = SUGGESTED, cutoff: float = 0.7
) -> list[str]:
    """Up to ``n`` known names closest to ``text`` (difflib ratio at least ``cutoff``,
    case-insensitive; whole names and, for ids with a slash, the part after it)."""
    by_lower: dict[str, str] = {}
    for name in known:
        by_lower.setdefault(name.lower(), name)
        if "/" in name:
            by_lower.setdefault(name.lower().rpartition("/")[2], name)
    word = text.strip().lower()
    # one letter of two differs in a typed country code: half the letters must match
    cutoff = min(cutoff, 0.5) if len(word) <= 3 else cutoff
    close = difflib.get_close_matches(word, list(by_lower), n=n * 2, cutoff=cutoff)
    return list(dict.fromkeys(by_lower[c] for c in close))[:n]


def _did_you_mean(text: str, known: Iterable[str]) -> str:
    close = suggestions(text, known)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _listing(matches: Sequence[str]) -> str:
    shown = ", ".join(matches[:LISTED])
    more = len(matches) - LISTED
    return f"{shown}, and {more} more" if more > 0 else shown


def match_choice(
    text: str,
    choices: Sequence[str],
    *,
    what: str,
    option: str | None = None,
    synonyms: Mapping[str, str] | None = None,
) -> str:
    """The one of ``choices`` that ``text`` names (case-insensitive; ``synonyms`` map other
    names to a choice, e.g. country -> origin). Unknown: an error listing the choices."""
    word = text.strip().lower()
    for choice in choices:
        if choice.lower() == word:
            return choice
    if synonyms and word in synonyms:
        return synonyms[word]
    close = suggestions(word, [*choices, *(synonyms or {})])
    hint = f"did you mean {', '.join(close)}? " if close else ""
    label = f"{option}: " if option else ""
    raise UnknownNameError(
        f"{label}unknown {what} {text!r}; {hint}choose one of: {', '.join(choices)}"
    )


def match_key(text: str, keys: Iterable[str], *, what: str) -> str:
    """The group key ``text`` names among ``keys`` (case-insensitive; for model ids, the one
    id whose name after the slash it is). Errors name close keys."""
    known = sorted(set(keys))
    word = text.strip().lower()
    exact = [k for k in known if k.lower() == word]
    if exact:
        return exact[0]
    tails = [k for k in known if "/" in k and k.lower().rpartition("/")[2] == word]
    if len(tails) == 1:
        return tails[0]
    if len(tails) > 1:
        raise AmbiguousNameError(
            f"{text} matches {len(tails)} {what}s: {_listing(tails)}",
            matches=tails,
            hint="give the full id",
        )
    raise UnknownNameError(
        f"no {what} named {text!r} in the data{_did_you_mean(text, known)}",
        hint=f"see the {what}s with: tokenstat top --by {what} --limit 0",
    )


def match_model(
    text: str,
    resolve: Callable[[str], str],
    known: Iterable[str],
    accept: Callable[[str], bool] | None = None,
) -> str:
    """The canonical model id a person means by ``text``.

    ``resolve`` maps a raw string to a canonical id (`Catalog.resolve`); ``known`` are the
    ids that exist (the catalog's, the ledger's, the price book's); ``accept`` may admit
    an id that is not among them (one the price book can price). Raises
    `AmbiguousNameError` (several ids contain the name) or `UnknownNameError`.
    """
    ids = sorted(set(known))
    lower = {k.lower(): k for k in ids}
    word = text.strip().lower()
    if not word:
        raise UnknownNameError("empty model name")
    if word in lower:
        return lower[word]
    resolved = resolve(text.strip())
    if resolved in lower.values() or resolved.lower() in lower:
        return lower.get(resolved.lower(), resolved)
    parts = [k for k in ids if word in k.lower()]
    if len(parts) == 1:
        return parts[0]
    if parts:
        # a whole name segment beats a substring (``gpt-4`` is openai/gpt-4, not gpt-4o)
        whole = [k for k in parts if k.lower().rpartition("/")[2] == word]
        if len(whole) == 1:
            return whole[0]
        raise AmbiguousNameError(
            f"{text} matches {len(parts)} models: {_listing(parts)}",
            matches=parts,
            hint="give the full id, e.g. " + parts[0],
        )
    if accept is not None and accept(resolved):
        return resolved
    raise UnknownNameError(
        f"unknown model {text!r}{_did_you_mean(text, ids)}",
        hint="see the models with: tokenstat catalog models",
    )


def pair_dimension(a: str, b: str, catalog) -> str:
    """The dimension two typed group names belong to, for ``lead A B`` without ``--by``:
    origin when both are country codes of the catalog's labs (any case), author when both
    name labs (slugs or aliases); when they disagree, what A is; else model."""
    countries = {x.country.lower() for x in catalog.authors.values() if x.country}

    def is_origin(name: str) -> bool:
        return name.strip().lower() in countries

    # both names agree, else the first decides (so a typo in B gets "no origin named")
    for names in ((a, b), (a,)):
        if all(is_origin(n) for n in names):
            return "origin"
        if all(catalog.canonical_author(n) for n in names):
            return "author"
    return "model"
