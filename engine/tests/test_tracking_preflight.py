"""The preflight check sends MLflow's credentials, so servers that guard /health too let it through."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from caretflow_engine.errors import EngineError
from caretflow_engine.tracking import preflight

EXPECTED = {"Bearer tok", "Basic " + base64.b64encode(b"u:p").decode()}


class _Guarded(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        ok = self.path == "/prefix/health" and self.headers.get("Authorization") in EXPECTED
        self.send_response(200 if ok else 401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def guarded() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Guarded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/prefix"
    server.shutdown()


@pytest.mark.parametrize(
    "env",
    [{"MLFLOW_TRACKING_TOKEN": "tok"}, {"MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p"}],
)
def test_preflight_sends_the_credentials(guarded: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    preflight(guarded, timeout=2, attempts=1)


def test_preflight_fails_as_transient_without_them(guarded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(EngineError, match="did not answer") as err:
        preflight(guarded, timeout=2, attempts=1)
    assert err.value.transient
