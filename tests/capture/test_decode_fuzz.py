"""The body decoder never fails with anything but `BodyError` (a 400/413/415 answer), and
the row conversion of what it accepts sets bad records aside instead of raising."""

from __future__ import annotations

import gzip
import json

from hypothesis import given, seed, settings
from hypothesis import strategies as st

from tests.capture.conftest import genai_spans, span_request
from tokenstat.capture import kinds
from tokenstat.capture.decode import BodyError, decode, decompress
from tokenstat.capture.loader import convert_records
from tokenstat.capture.spool import Record
from tokenstat.capture.telemetry import TelemetryState

VALID = span_request(genai_spans(1, 3)).SerializeToString()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def check(signal: str, encoding: str, body: bytes) -> None:
    try:
        request = decode(signal, encoding, body)
    except BodyError as exc:
        assert exc.status == 400 and str(exc)
        return
    record = Record(kinds.OTLP_KINDS[signal, encoding], body, 0, len(body))
    converted = convert_records([record], TelemetryState())
    assert request is not None
    assert converted.rows == sum(b.num_rows for b in converted.batches)


@seed(15)
@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["traces", "metrics", "logs"]), st.binary(max_size=300))
def test_random_protobuf_bytes(signal, body):
    check(signal, "protobuf", body)


@seed(15)
@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(0, 255))
def test_a_valid_body_with_one_byte_changed(where, value):
    body = bytearray(VALID)
    body[where] = value
    check("traces", "protobuf", bytes(body))


@seed(15)
@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["traces", "metrics", "logs"]), json_values)
def test_random_json_documents(signal, doc):
    key = {"traces": "resourceSpans", "metrics": "resourceMetrics", "logs": "resourceLogs"}
    for body in (
        doc,
        {key[signal]: doc},
        {key[signal]: [doc]},
        {key[signal]: [{"scopeSpans": [{"spans": [doc]}]}]},
    ):
        check(signal, "json", json.dumps(body).encode())


@seed(15)
@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_gzip(body):
    try:
        decompress(body, "gzip", 1000)
    except BodyError as exc:
        assert exc.status in (400, 413)
    assert decompress(gzip.compress(body), "gzip", 1000) == body
