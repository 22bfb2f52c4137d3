"""JSON lines over raw file descriptors (the worker's and the scoring process's control channels)."""

from __future__ import annotations

import json
import os
from typing import Any

from .cancel import deferred_signals
from .events import dumps_line, write_line


class LineReader:
    """Reads whole lines from an fd with os.read, so it can be combined with select()."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""
        self.eof = False

    def read_available(self) -> list[bytes]:
        """One os.read; returns the complete lines it made available (sets eof at end of input)."""
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            self.eof = True
            rest, self.buffer = self.buffer, b""
            return [rest] if rest.strip() else []
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line for line in lines if line.strip()]


def parse_line(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """(message, None) or (None, problem)."""
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, f"not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, "each line must be a JSON object"
    return value, None


def send(fd: int, message: dict[str, Any]) -> None:
    with deferred_signals():
        write_line(fd, dumps_line(message))
