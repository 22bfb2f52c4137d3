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
# The keys that tell the members of the spec's unions apart (job kind, task family member, operation).
DISCRIMINATORS = ("kind", "task", "op")


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text())


def const_values(branch: dict[str, Any], key: str) -> list[Any]:
    """The values a branch admits for a discriminator key (const or enum)."""
    prop = branch.get("properties", {}).get(key, {})
    if "const" in prop:
        return [prop["const"]]
    return list(prop.get("enum", []))


def branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The object branches of a (possibly nested) oneOf/anyOf."""
    subs = schema.get("oneOf") or schema.get("anyOf")
    if not subs:
        return [schema]
    return [leaf for sub in subs for leaf in branches(sub)]


def _branch_for(schema: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The one branch for the spec's kind (and, for training, its task); a user error names the choices."""
    leaves = branches(schema)
    kinds = list(dict.fromkeys(k for b in leaves for k in const_values(b, "kind")))
    by_kind = [b for b in leaves if raw.get("kind") in const_values(b, "kind")]
    if not by_kind:
        raise user_error("InvalidJobSpec", f"Unknown job kind {raw.get('kind')!r}.", f"Set 'kind' to one of: {', '.join(kinds)}.")
    if len(by_kind) == 1:
        return by_kind[0]
    tasks = [t for b in by_kind for t in const_values(b, "task")]
    by_task = [b for b in by_kind if raw.get("task") in const_values(b, "task")]
    if not by_task:
        raise user_error(
            "InvalidJobSpec", f"Unknown task {raw.get('task')!r}.", f"Set 'task' to one of: {', '.join(map(str, tasks))}."
        )
    return by_task[0]


def _matching_branch(schema: dict[str, Any], value: dict[str, Any]) -> dict[str, Any] | None:
    """The branch of a union whose discriminating constants (kind, task, op...) all match value."""
    for branch in branches(schema):
        keys = [k for k in DISCRIMINATORS if const_values(branch, k)]
        if keys and all(value.get(k) in const_values(branch, k) for k in keys):
            return branch
    return None


def _apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    if ("oneOf" in schema or "anyOf" in schema) and isinstance(value, dict):
        branch = _matching_branch(schema, value)
        return _apply_defaults(branch, value) if branch is not None else value
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
    branch = _branch_for(schema, raw)
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
