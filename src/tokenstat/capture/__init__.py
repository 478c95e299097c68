"""Live capture: an OTLP/HTTP receiver and a metering proxy, writing through a durable
spool into the ledger (docs/capture.md).

``spool`` (write-ahead log, fsync, group commit), ``decode`` (request bodies),
``telemetry`` (metrics and log events -> rows), ``loader`` (spool -> ledger, exactly
once), ``otlp_receiver`` and ``proxy`` (the ASGI apps), ``serving`` (running them).
"""
