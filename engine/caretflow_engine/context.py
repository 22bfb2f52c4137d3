"""What a running job carries: its event writer, its open MLflow runs, its cancel token, and the
thread that logs to MLflow in the background."""

from __future__ import annotations

from dataclasses import dataclass, field

from .cancel import CancelToken
from .events import EventWriter
from .experiment_log import BackgroundCalls
from .tracking import RunRegistry


@dataclass
class JobContext:
    events: EventWriter
    cancel: CancelToken
    runs: RunRegistry = field(default_factory=RunRegistry)
    background: BackgroundCalls = field(default_factory=BackgroundCalls)
