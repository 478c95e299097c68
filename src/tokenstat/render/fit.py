"""Tables that fit the console they are printed on.

Every report table is a `FitTable`: its columns carry a priority, and when the table would
be wider than the console, the columns of lowest priority are left out first and a footnote
names them. Ids (model, author, app, period labels) and numbers never wrap and are never cut;
a column without a priority (the row's id, the report's main value) is never left out. Only
prose columns (``wrap=True``) wrap, at spaces, down to their ``floor`` width.

The decision is taken when the table is rendered, from the width Rich measures for it on
that console, so a table needs no width argument. `FirstFit` picks, among a few layouts of
the same data, the first that fits without leaving anything out (``trend`` uses it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich import box as boxes
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

# wide enough that Rich measures a table at its natural width (no column squeezed)
_UNBOUNDED = 100_000
# the last resort before leaving out more than it must: a rule under the header, no edges
_COMPACT = boxes.SIMPLE_HEAD


@dataclass(frozen=True)
class Column:
    """One column: header, alignment and how it gives way when space is short.

    ``priority`` None: never left out (ids, the main value); otherwise the lowest priority
    goes first (ties: the rightmost first). ``wrap``: prose that may wrap at spaces down to
    ``floor`` cells; every other column is kept on one line at its full width.
    """

    name: str
    justify: JustifyMethod = "right"
    priority: int | None = None
    wrap: bool = False
    floor: int = 16


class FitTable:
    """A Rich table that leaves out its lowest-priority columns to fit the console.

    Comes in: columns, then rows (one cell per column, str or Text) and sections. Goes out
    (when printed): the table at its natural width, or without the columns that did not fit
    and a dim footnote naming them and where to see them (``see``, e.g. "--json").
    """

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        title: str | None = None,
        box: boxes.Box | None = boxes.HEAVY_HEAD,
        pad_edge: bool = True,
        see: str = "--json",
        width: int | None = None,
    ) -> None:
        self.columns = list(columns)
        self.title = title
        self.box = box
        self.pad_edge = pad_edge
        self.see = see
        self.width = width
        self.rows: list[list[RenderableType] | None] = []
        self._compact = False
        self._widths: list[int] | None = None

    def add_row(self, *cells: RenderableType) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(list(cells))
        self._widths = None

    def add_section(self) -> None:
        """A rule under the row added last."""
        self.rows.append(None)

    def table(self, shown: Iterable[int]) -> Table:
        """The Rich table of the columns at indexes ``shown``."""
        table = self._frame()
        shown = list(shown)
        for i in shown:
            col = self.columns[i]
            if col.wrap:
                table.add_column(col.name, justify=col.justify, overflow="fold")
            else:
                table.add_column(col.name, justify=col.justify, no_wrap=True)
        for row in self.rows:
            if row is None:
                table.add_section()
            else:
                table.add_row(*(row[i] for i in shown))
        return table

    def _frame(self) -> Table:
        return Table(
            title=self.title,
            title_justify="left",
            box=_COMPACT if self._compact else self.box,
            pad_edge=False if self._compact else self.pad_edge,
            show_edge=not self._compact,
        )

    def widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        """Cells each column needs on one line (header included; prose at most its floor),
        as Rich measures them."""
        if self._widths is None:
            wide = options.update_width(_UNBOUNDED)
            self._widths = []
            for i, col in enumerate(self.columns):
                cells = [col.name, *(row[i] for row in self.rows if row is not None)]
                width = max(Measurement.get(console, wide, c).maximum for c in cells)
                self._widths.append(min(width, col.floor) if col.wrap else width)
        return self._widths

    def needed(self, console: Console, options: ConsoleOptions, shown: Iterable[int]) -> int:
        """Cells the table needs with the columns at ``shown`` (borders and padding too)."""
        widths = self.widths(console, options)
        probe = self._frame()
        for i in shown:
            probe.add_column(self.columns[i].name, width=widths[i])
        return Measurement.get(console, options.update_width(_UNBOUNDED), probe).maximum

    def _limit(self, options: ConsoleOptions) -> int:
        return min(options.max_width, self.width or options.max_width)

    def fits(self, console: Console, options: ConsoleOptions) -> bool:
        """True when every column fits the console."""
        return self.needed(console, options, range(len(self.columns))) <= self._limit(options)

    def shown(self, console: Console, options: ConsoleOptions) -> list[int]:
        """Indexes of the columns kept: all, less the lowest priorities until it fits. When
        even the columns that are never left out do not fit in the table's own box, the
        table is drawn without borders (`_COMPACT`) and the columns chosen again."""
        limit = self._limit(options)
        droppable = sorted(
            (i for i, c in enumerate(self.columns) if c.priority is not None),
            key=lambda i: (self.columns[i].priority, -i),
        )
        for compact in (False, True):
            self._compact = compact
            shown = list(range(len(self.columns)))
            for i in droppable:
                if self.needed(console, options, shown) <= limit:
                    break
                shown.remove(i)
            if self.needed(console, options, shown) <= limit:
                return shown
        return shown

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        shown = self.shown(console, options)
        yield self.table(shown)
        hidden = [c.name for i, c in enumerate(self.columns) if i not in shown]
        if hidden:
            yield Text(
                f"Left out to fit {self._limit(options)} columns: {', '.join(hidden)} "
                f"(see {self.see}, or a wider terminal).",
                style="dim",
            )

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = min(self.needed(console, options, self.shown(console, options)), options.max_width)
        return Measurement(width, width)


class FirstFit:
    """The first of several layouts of the same data that fits the console with every
    column; else the last one (which leaves out what it must, as any `FitTable`)."""

    def __init__(self, *layouts: tuple[FitTable, RenderableType | None]) -> None:
        """``layouts``: (table, what to print under it, or None), best first."""
        if not layouts:
            raise ValueError("FirstFit needs at least one layout")
        self.layouts = layouts

    def choose(self, console: Console, options: ConsoleOptions) -> int:
        for index, (table, _) in enumerate(self.layouts[:-1]):
            if table.fits(console, options):
                return index
        return len(self.layouts) - 1

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table, under = self.layouts[self.choose(console, options)]
        yield table
        if under is not None:
            yield under
