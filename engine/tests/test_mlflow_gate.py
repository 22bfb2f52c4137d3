"""caretflow's credential check in front of MLflow (engine/mlflow_app/caretflow_mlflow_gate.py).

MLflow's own app is replaced by a recording ASGI app, so these checks run in milliseconds; the
TypeScript tests (packages/tracking/test/mlflow.integration.test.ts) run the gate in a real
`mlflow server --app-name caretflow`.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import sys
import types
from pathlib import Path
from typing import Any

import pytest

GATE_DIR = Path(__file__).resolve().parents[1] / "mlflow_app"
SECRET = "s" * 43


class Recorder:
    """Stands in for mlflow.server.fastapi_app.app: answers 200 and remembers what reached it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.seen.append(f"{scope['type']} {scope.get('method', '')} {scope.get('path', '')}".strip())
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Recorder]:
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    monkeypatch.setenv("CARETFLOW_MLFLOW_SECRET_FILE", str(secret))
    monkeypatch.setenv("_MLFLOW_STATIC_PREFIX", "/mlflow")
    inner = Recorder()
    monkeypatch.setitem(sys.modules, "mlflow.server.fastapi_app", types.SimpleNamespace(app=inner))
    monkeypatch.syspath_prepend(str(GATE_DIR))
    module = importlib.import_module("caretflow_mlflow_gate")
    return module.Gate(), inner


def call(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http(path: str, method: str = "GET", auth: str | None = None) -> dict[str, Any]:
    headers = [] if auth is None else [(b"authorization", auth.encode())]
    return {"type": "http", "method": method, "path": path, "headers": headers}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_refuses_requests_without_the_credential(gate: tuple[Any, Recorder]) -> None:
    app, inner = gate
    wrong = (
        None,
        basic("caretflow", "wrong"),
        basic("admin", SECRET),
        f"Bearer {SECRET}",
        basic("caretflow", SECRET + "x"),
    )
    for auth in wrong:
        sent = call(app, http("/mlflow/api/2.0/mlflow/experiments/create", "POST", auth))
        assert sent[0]["status"] == 401, auth
        assert (b"www-authenticate", b'Basic realm="caretflow-mlflow"') in sent[0]["headers"]
        assert SECRET.encode() not in sent[1]["body"]
    assert inner.seen == []


def test_passes_caretflow_credential_and_the_health_check(gate: tuple[Any, Recorder]) -> None:
    app, inner = gate
    assert call(app, http("/mlflow/", "GET", basic("caretflow", SECRET)))[0]["status"] == 200
    assert call(app, http("/mlflow/health"))[0]["status"] == 200
    # Only GET/HEAD of the health check is open, and only under the prefix.
    assert call(app, http("/mlflow/health", "POST"))[0]["status"] == 401
    assert call(app, http("/mlflow/health/x"))[0]["status"] == 401
    assert inner.seen == ["http GET /mlflow/", "http GET /mlflow/health"]


def test_closes_websockets_without_the_credential_and_passes_lifespan(gate: tuple[Any, Recorder]) -> None:
    app, inner = gate
    sent = call(app, {"type": "websocket", "path": "/mlflow/ws", "headers": []})
    assert sent == [{"type": "websocket.close", "code": 1008}]
    call(app, {"type": "lifespan"})
    assert inner.seen == ["lifespan"]


def test_refuses_to_start_without_a_usable_secret(
    gate: tuple[Any, Recorder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = gate
    short = tmp_path / "short"
    short.write_text("abc")
    monkeypatch.setenv("CARETFLOW_MLFLOW_SECRET_FILE", str(short))
    with pytest.raises(RuntimeError, match="shorter than 32"):
        call(app, {"type": "lifespan"})
    monkeypatch.delenv("CARETFLOW_MLFLOW_SECRET_FILE")
    with pytest.raises(RuntimeError, match="is not set"):
        call(app, {"type": "lifespan"})
