"""Job specs: validated against the JSON Schema generated from packages/contracts, defaults applied
as the zod schema does (unknown keys dropped, missing optional keys given their default)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from .errors import EngineError, user_error

SCHEMA_DIR = Path(__file__).parent / "schema"


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text())


def _branch_for_kind(schema: dict[str, Any], kind: Any) -> dict[str, Any] | None:
    for branch in schema.get("oneOf", []):
        if branch.get("properties", {}).get("kind", {}).get("const") == kind:
            return branch
    return None


def _apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    if schema.get("type") != "object" or not isinstance(value, dict):
        return value
    props: dict[str, Any] = schema.get("properties", {})
    out: dict[str, Any] = {}
    for key, sub in props.items():
        if key in value:
            out[key] = _apply_defaults(sub, value[key])
        elif "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
    if "additionalProperties" in schema and not props:
        return dict(value)
    return out


def parse_spec(raw: Any) -> dict[str, Any]:
    """Validate a job spec and return it with defaults applied; raises a user error naming the field."""
    schema = load_schema("job-spec.schema.json")
    if not isinstance(raw, dict):
        raise user_error("InvalidJobSpec", "The job spec must be a JSON object.", "Send the job spec as a JSON object.")
    branch = _branch_for_kind(schema, raw.get("kind"))
    if branch is None:
        kinds = [b["properties"]["kind"]["const"] for b in schema.get("oneOf", [])]
        raise user_error(
            "InvalidJobSpec",
            f"Unknown job kind {raw.get('kind')!r}.",
            f"Set 'kind' to one of: {', '.join(kinds)}.",
        )
    validator = jsonschema.Draft202012Validator(branch)
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "(root)"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise user_error(
            "InvalidJobSpec",
            f"Invalid job spec at {where}: {first.message}{more}",
            f"Fix '{where}' in the job spec; it must match the engine protocol (docs/engine-protocol.md).",
        )
    return _apply_defaults(branch, raw)


def read_spec_file(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise user_error("InvalidJobSpec", f"Job spec file not found: {path}", "Pass an existing file to --spec.") from exc
    except json.JSONDecodeError as exc:
        raise user_error("InvalidJobSpec", f"Job spec is not valid JSON: {exc}", "Write the spec as one JSON object.") from exc


def job_id_of(raw: Any) -> str:
    """The job id to put on events even when the spec is invalid."""
    if isinstance(raw, dict) and isinstance(raw.get("job_id"), str) and raw["job_id"]:
        return raw["job_id"]
    return "unknown"


__all__ = ["EngineError", "job_id_of", "load_schema", "parse_spec", "read_spec_file"]
