"""caretflow engine: PyCaret training, MLflow logging and model scoring behind a job protocol.

The protocol (job spec in, NDJSON events out) is defined in packages/contracts and exported to
``caretflow_engine/schema/*.json``; see docs/engine-protocol.md.
"""

PROTOCOL_VERSION = 1
