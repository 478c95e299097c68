"""The small exception tree of tokenstat.

Each error also subclasses the builtin it refines, so callers that only know Python's
exceptions still catch it; `TokenstatError` comes first among the bases, so that its
``hint`` keyword is taken before the builtin's constructor, which takes no keywords.
The CLI turns these into one-line messages.
"""

from __future__ import annotations


class TokenstatError(Exception):
    """Base of every error tokenstat raises on purpose.

    ``hint`` is the next step for a person (``run tokenstat ledger imports``); the CLI
    prints it after the message, the web API leaves it out.
    """

    hint: str | None = None

    def __init__(self, *args: object, hint: str | None = None):
        super().__init__(*args)
        if hint is not None:
            self.hint = hint


class ImportFormatError(TokenstatError, ValueError):
    """A source file or record does not have the shape its importer expects.

    ``location`` names the file and line/record; ``field`` the offending field.
    """

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ):
        self.reason = message
        self.location = location
        self.field = field
        parts = [p for p in (location, f"field {field!r}" if field else None) if p]
        super().__init__(": ".join([*parts, message]) if parts else message, hint=hint)


class StrictImportError(ImportFormatError):
    """A bad record was found under ``--strict``: nothing was written."""


class ImportOptionError(TokenstatError, ValueError):
    """The options of an import do not fit its input (e.g. a column mapping names a
    column the file does not have): nothing is imported."""


class UnknownSourceError(TokenstatError, LookupError):
    """No importer is registered under the requested name."""


class LedgerError(TokenstatError, RuntimeError):
    """The ledger cannot be opened, migrated or written."""


class QueryError(TokenstatError, ValueError):
    """A report was asked for something the data or the definitions cannot give."""


class FetchError(TokenstatError, RuntimeError):
    """A remote API could not be reached or answered with an error."""


class ClaimsFileError(TokenstatError, ValueError):
    """A claims file cannot be read: not YAML, no claims list, duplicate ids."""


class ExpressionError(TokenstatError, ValueError):
    """A claim's expression is not in the small expression language, or exceeds its limits."""
