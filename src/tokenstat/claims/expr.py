"""The small, safe expression language of claims files.

A hand-written tokenizer and recursive-descent parser; nothing is ever handed to Python's
``eval``, ``exec`` or ``compile``. Grammar::

    expression := sum (COMPARE sum)?           COMPARE: < <= > >= == !=
    sum        := product (("+" | "-") product)*   one n-ary node, evaluated in a loop
    product    := unary (("*" | "/") unary)*       likewise
    unary      := ("-" | "+") unary | power
    power      := atom ("**" unary)?           right-associative, binds tighter than unary
    atom       := NUMBER | "(" expression ")" | "[" items "]" | NAME "(" arguments ")"
    arguments  := (argument ("," argument)*)?  argument: expression | NAME "=" value
    value      := expression | STRING

Numbers may be written as in reports: ``12.96T``, ``31.48%``, ``$0.28``, ``1.5e12``
(see `tokenstat.quantities`). Functions: ``sum``, ``min``, ``max`` over a list
(``sum([1, 2, 3])``), ``abs``, ``claim('id')`` (another claim's stated value), and the
metric functions the caller provides (``tokens(by='origin', key='CN')``), which take
keyword arguments only.

Limits, each refused with an `ExpressionError` naming it, all checked while parsing, before
anything is evaluated: expression length (``MAX_LENGTH`` characters), syntax-tree size
(``MAX_NODES``: every number, string, operator, list, call and claim reference counts one),
nesting depth (``MAX_DEPTH`` levels of parentheses, lists, calls, signs and powers; a flat
sum or product is one level however many terms it has, so evaluation never recurses deeper
than a few frames per level), the chain of claim() references (``MAX_REFERENCE_CHAIN``,
enforced by the caller that resolves them, `tokenstat.claims.check`), list length, exponent size
(``|exponent| <= MAX_EXPONENT``), and the magnitude of every intermediate result
(``<= MAX_MAGNITUDE``; no infinities or NaN). Names are only function names: there are no
variables, attributes (``.``), subscripts, strings outside function arguments, or any
other Python syntax.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokenstat.errors import ExpressionError
from tokenstat.quantities import SUFFIXES

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_NODES = 1500
MAX_REFERENCE_CHAIN = 32
MAX_LIST = 1000
MAX_EXPONENT = 64
MAX_MAGNITUDE = 1e30
BUILTINS = ("sum", "min", "max", "abs", "claim")
COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\$?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:[KMBTQ%](?![A-Za-z0-9_]))?)
  | (?P<string>'[^'\\\n]{0,200}'|"[^"\\\n]{0,200}")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|<=|>=|==|!=|[-+*/()\[\],<>=])
    """,
    re.VERBOSE,
)

_FORBIDDEN = {
    ".": "attribute access ('.') is not allowed",
    ";": "';' is not allowed: one expression only",
    ":": "':' is not allowed (no lambdas, slices or dicts)",
    "{": "'{' is not allowed (no dicts or sets)",
    "@": "'@' is not allowed",
    "%": "'%' is only allowed right after a number (31.48%)",
    "`": "'`' is not allowed",
    "\\": "'\\' is not allowed",
}


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, end
    text: str
    pos: int


# --- syntax tree: small frozen records ------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class ListOf:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Any


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Chain:
    """``first op1 term1 op2 term2 ...``, all ``+``/``-`` or all ``*``/``/``, left to right."""

    first: Any
    rest: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]


def _number(text: str, pos: int) -> float:
    body = text.lstrip("$")
    scale = 1.0
    if body and body[-1] in SUFFIXES:
        scale, body = SUFFIXES[body[-1]], body[:-1]
    elif body.endswith("%"):
        scale, body = 0.01, body[:-1]
    try:
        value = float(body.replace("_", "")) * scale
    except ValueError:
        raise ExpressionError(f"not a number at position {pos}: {text!r}") from None
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ExpressionError(f"number too large at position {pos}: {text!r}")
    return value


def tokenize(text: str) -> list[Token]:
    if not isinstance(text, str):
        raise ExpressionError("an expression must be a string")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression too long ({len(text)} characters; at most {MAX_LENGTH})")
    tokens = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            char = text[pos]
            why = _FORBIDDEN.get(char, f"unexpected character {char!r}")
            raise ExpressionError(f"{why} (position {pos})")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, functions: tuple[str, ...]):
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.nodes = 0
        self.functions = functions

    # helpers
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.take()
        if token.text != text:
            found = "the end" if token.kind == "end" else repr(token.text)
            raise ExpressionError(f"expected {text!r} at position {token.pos}, found {found}")
        return token

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested too deeply (more than {MAX_DEPTH} levels)")

    def leave(self) -> None:
        self.depth -= 1

    def count(self, node: Any) -> Any:
        """``node``, counted against `MAX_NODES`."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(
                f"expression too large (more than {MAX_NODES} numbers, operators and calls)"
            )
        return node

    # grammar
    def parse(self) -> Any:
        node = self.expression()
        token = self.peek()
        if token.kind != "end":
            if token.text in COMPARISONS:
                raise ExpressionError(
                    f"only one comparison per expression (position {token.pos}); write two claims"
                )
            raise ExpressionError(f"unexpected {token.text!r} at position {token.pos}")
        return node

    def expression(self) -> Any:
        self.enter()
        left = self.sum()
        if self.peek().text in COMPARISONS:
            op = self.take().text
            left = self.count(Compare(op, left, self.sum()))
        self.leave()
        return left

    def sum(self) -> Any:
        return self.chain(self.product, ("+", "-"))

    def product(self) -> Any:
        return self.chain(self.unary, ("*", "/"))

    def chain(self, term: Callable[[], Any], ops: tuple[str, ...]) -> Any:
        first = term()
        rest: list[tuple[str, Any]] = []
        while self.peek().text in ops:
            op = self.take().text
            rest.append((self.count(op), term()))
        return Chain(first, tuple(rest)) if rest else first

    def unary(self) -> Any:
        if self.peek().text in ("-", "+"):
            op = self.take().text
            self.enter()
            node = self.count(Unary(op, self.unary()))
            self.leave()
            return node
        return self.power()

    def power(self) -> Any:
        base = self.atom()
        if self.peek().text == "**":
            self.take()
            self.enter()
            exponent = self.unary()
            self.leave()
            return self.count(Binary("**", base, exponent))
        return base

    def atom(self) -> Any:
        token = self.take()
        if token.kind == "number":
            return self.count(Num(_number(token.text, token.pos)))
        if token.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        if token.text == "[":
            return self.list_of(token)
        if token.kind == "name":
            return self.call(token)
        if token.kind == "string":
            raise ExpressionError(
                f"a string is only allowed as a function argument (position {token.pos})"
            )
        if token.kind == "end":
            raise ExpressionError("the expression ends too early")
        raise ExpressionError(f"unexpected {token.text!r} at position {token.pos}")

    def list_of(self, opening: Token) -> ListOf:
        self.enter()
        items = []
        if self.peek().text != "]":
            while True:
                items.append(self.expression())
                if len(items) > MAX_LIST:
                    raise ExpressionError(f"list too long (more than {MAX_LIST} items)")
                if self.peek().text != ",":
                    break
                self.take()
        self.expect("]")
        self.leave()
        return self.count(ListOf(tuple(items)))

    def call(self, name: Token) -> Call:
        if self.peek().text != "(":
            raise ExpressionError(
                f"unknown name {name.text!r} at position {name.pos}: names are only "
                "functions, called with (...)"
            )
        if name.text not in self.functions:
            raise ExpressionError(
                f"unknown function {name.text!r} at position {name.pos}; allowed: "
                f"{', '.join(self.functions)}"
            )
        self.take()
        self.enter()
        args: list[Any] = []
        kwargs: list[tuple[str, Any]] = []
        if self.peek().text != ")":
            while True:
                token = self.peek()
                following = self.tokens[self.i + 1]
                if token.kind == "name" and following.text == "=":
                    self.take()
                    self.take()
                    value = self.take() if self.peek().kind == "string" else None
                    kwargs.append(
                        (
                            token.text,
                            self.count(Str(value.text[1:-1])) if value else self.expression(),
                        )
                    )
                elif token.kind == "string":
                    self.take()
                    args.append(self.count(Str(token.text[1:-1])))
                else:
                    if kwargs:
                        raise ExpressionError(
                            f"positional argument after keyword argument at position {token.pos}"
                        )
                    args.append(self.expression())
                if len(args) + len(kwargs) > MAX_LIST:
                    raise ExpressionError("too many arguments")
                if self.peek().text != ",":
                    break
                self.take()
        self.expect(")")
        self.leave()
        return self.count(Call(name.text, tuple(args), tuple(kwargs)))


def parse(text: str, metrics: tuple[str, ...] = ()) -> Any:
    """The syntax tree of ``text``; ``metrics`` are the metric function names allowed."""
    return _Parser(text, (*BUILTINS, *metrics)).parse()


# --- evaluation -------------------------------------------------------------------------

MetricCall = Callable[[str, dict[str, Any]], float]
ClaimValue = Callable[[str], float]


@dataclass
class Result:
    """The value of an expression; for a comparison, also both sides."""

    value: float | bool
    left: float | None = None
    right: float | None = None
    op: str | None = None


def _checked(value: float) -> float:
    if isinstance(value, complex) or not math.isfinite(value):
        raise ExpressionError("the result is not a finite real number")
    if abs(value) > MAX_MAGNITUDE:
        raise ExpressionError(f"a result is too large (above {MAX_MAGNITUDE:g})")
    return value


class Evaluator:
    """Evaluates a syntax tree; metric calls and claim references go to the callbacks."""

    def __init__(self, metric: MetricCall | None = None, claim: ClaimValue | None = None):
        self.metric = metric
        self.claim = claim

    def run(self, node: Any) -> Result:
        if isinstance(node, Compare):
            left, right = self.number(node.left), self.number(node.right)
            ops = {
                "<": left < right,
                "<=": left <= right,
                ">": left > right,
                ">=": left >= right,
                "==": left == right,
                "!=": left != right,
            }
            return Result(ops[node.op], left, right, node.op)
        return Result(self.number(node))

    def number(self, node: Any) -> float:
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Unary):
            value = self.number(node.operand)
            return -value if node.op == "-" else value
        if isinstance(node, Chain):
            value = self.number(node.first)
            for op, term in node.rest:
                value = self.apply(op, value, self.number(term))
            return value
        if isinstance(node, Binary):
            return self.apply(node.op, self.number(node.left), self.number(node.right))
        if isinstance(node, Call):
            return _checked(self.call(node))
        if isinstance(node, Compare):
            raise ExpressionError("a comparison can only be the whole expression")
        if isinstance(node, ListOf):
            raise ExpressionError("a list can only be the argument of sum, min or max")
        if isinstance(node, Str):
            raise ExpressionError("a string can only be a function argument")
        raise ExpressionError(f"cannot evaluate {type(node).__name__}")

    def apply(self, op: str, left: float, right: float) -> float:
        """``left op right`` for one operator (+ - * / **), checked."""
        if op == "+":
            return _checked(left + right)
        if op == "-":
            return _checked(left - right)
        if op == "*":
            return _checked(left * right)
        if op == "/":
            if right == 0:
                raise ExpressionError("division by zero")
            return _checked(left / right)
        if abs(right) > MAX_EXPONENT:
            raise ExpressionError(f"exponent too large ({right:g}; at most {MAX_EXPONENT})")
        if left == 0 and right < 0:
            raise ExpressionError("zero to a negative power")
        if left < 0 and not float(right).is_integer():
            raise ExpressionError("a negative number to a fractional power")
        try:
            return _checked(float(left**right))
        except OverflowError:
            raise ExpressionError(f"a result is too large (above {MAX_MAGNITUDE:g})") from None

    def call(self, node: Call) -> float:
        name = node.name
        if name in ("sum", "min", "max"):
            if node.kwargs or len(node.args) != 1 or not isinstance(node.args[0], ListOf):
                raise ExpressionError(f"{name} takes one list: {name}([1, 2, 3])")
            values = [self.number(item) for item in node.args[0].items]
            if not values:
                if name == "sum":
                    return 0.0
                raise ExpressionError(f"{name} of an empty list")
            return {"sum": sum, "min": min, "max": max}[name](values)
        if name == "abs":
            if node.kwargs or len(node.args) != 1:
                raise ExpressionError("abs takes one number")
            return abs(self.number(node.args[0]))
        if name == "claim":
            if node.kwargs or len(node.args) != 1 or not isinstance(node.args[0], Str):
                raise ExpressionError("claim takes one claim id in quotes: claim('cn-weekly')")
            if self.claim is None:
                raise ExpressionError("claim() is not available here")
            return self.claim(node.args[0].value)
        if node.args:
            raise ExpressionError(
                f"{name} takes keyword arguments only, e.g. {name}(by='origin', key='CN')"
            )
        if self.metric is None:
            raise ExpressionError(f"metric {name}() is not available here")
        kwargs: dict[str, Any] = {}
        for key, value in node.kwargs:
            if key in kwargs:
                raise ExpressionError(f"{name}: argument {key!r} given twice")
            kwargs[key] = value.value if isinstance(value, Str) else self.number(value)
        return self.metric(name, kwargs)


def evaluate(
    text: str,
    *,
    metrics: tuple[str, ...] = (),
    metric: MetricCall | None = None,
    claim: ClaimValue | None = None,
) -> Result:
    """Parse and evaluate ``text`` (see the module docstring)."""
    return Evaluator(metric, claim).run(parse(text, metrics))


def references(text: str, metrics: tuple[str, ...] = ()) -> list[str]:
    """The claim ids ``text`` refers to with claim('id')."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Call):
            if node.name == "claim" and node.args and isinstance(node.args[0], Str):
                found.append(node.args[0].value)
            for arg in node.args:
                walk(arg)
            for _, value in node.kwargs:
                walk(value)
        elif isinstance(node, Binary | Compare):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, Chain):
            walk(node.first)
            for _, term in node.rest:
                walk(term)
        elif isinstance(node, Unary):
            walk(node.operand)
        elif isinstance(node, ListOf):
            for item in node.items:
                walk(item)

    walk(parse(text, metrics))
    return found
