"""caretflow's credential check in front of MLflow's tracking server.

`mlflow server --app-name caretflow` runs this ASGI app instead of MLflow's own FastAPI app: every
request must carry HTTP basic credentials equal to caretflow's generated secret (user `caretflow`),
except MLflow's health check, which the supervisor and the engine's preflight use before they
talk to it. The app is found by MLflow through the `mlflow.app` entry point that the
`caretflow_mlflow_gate-1.0.dist-info` folder beside this file declares; caretflow's supervisor puts
this folder on PYTHONPATH, so nothing is installed into the environment.

The secret is read from the file named by CARETFLOW_MLFLOW_SECRET_FILE (mode 600, under
caretflow's home), never from the command line. MLflow's own app is imported on the first call
(uvicorn's lifespan start-up), so `mlflow server`'s parent process does not pay for the import
when it checks whether the app is a factory.
"""

from __future__ import annotations

import base64
import hmac
import os
from typing import Any

USERNAME = "caretflow"
SECRET_FILE_ENV = "CARETFLOW_MLFLOW_SECRET_FILE"

Scope = dict[str, Any]


def _read_secret() -> bytes:
    path = os.environ.get(SECRET_FILE_ENV)
    if not path:
        raise RuntimeError(f"{SECRET_FILE_ENV} is not set: caretflow's MLflow gate has no credential to check")
    with open(path, "rb") as f:
        secret = f.read().strip()
    if len(secret) < 32:
        raise RuntimeError(f"the secret in {path} is shorter than 32 characters")
    return secret


def _expected_header(secret: bytes) -> bytes:
    return b"Basic " + base64.b64encode(USERNAME.encode() + b":" + secret)


def _open_paths() -> frozenset[str]:
    prefix = os.environ.get("_MLFLOW_STATIC_PREFIX", "").rstrip("/")
    return frozenset({f"{prefix}/health"})


class Gate:
    """ASGI app: refuses (401) any HTTP or websocket request without caretflow's credential."""

    def __init__(self) -> None:
        self._inner: Any = None
        self._expected: bytes | None = None
        self._open: frozenset[str] = frozenset()

    def _load(self) -> Any:
        if self._inner is None:
            self._expected = _expected_header(_read_secret())
            self._open = _open_paths()
            from mlflow.server.fastapi_app import app as mlflow_app

            self._inner = mlflow_app
        return self._inner

    def _allowed(self, scope: Scope) -> bool:
        if scope.get("path") in self._open and scope.get("method", "GET") in ("GET", "HEAD"):
            return True
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                return self._expected is not None and hmac.compare_digest(value, self._expected)
        return False

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        inner = self._load()
        if scope["type"] in ("http", "websocket") and not self._allowed(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            body = b'{"error_code":"UNAUTHENTICATED","message":"caretflow\'s MLflow needs caretflow\'s credential"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"www-authenticate", b'Basic realm="caretflow-mlflow"'),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await inner(scope, receive, send)


app = Gate()
