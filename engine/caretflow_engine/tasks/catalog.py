"""The engine's catalog (Catalog in packages/contracts/src/catalog.ts), built from the families.

Built once per engine environment: the server asks for it with a ``catalog`` job and caches the
answer; ``python -m caretflow_engine catalog`` prints it.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from ..versions import library_versions
from . import families

CATALOG_VERSION = 1


def gpu_status() -> dict[str, Any]:
    """Whether a CUDA GPU is visible (nvidia-smi lists one); the detail says what was found."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return {"available": False, "detail": "no NVIDIA driver on this machine (nvidia-smi not found)"}
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"available": False, "detail": f"nvidia-smi failed: {exc}"}
    gpus = [line for line in out.stdout.splitlines() if line.startswith("GPU ")]
    if not gpus:
        return {"available": False, "detail": (out.stderr or out.stdout).strip()[:300] or "nvidia-smi lists no GPU"}
    return {"available": True, "detail": "; ".join(gpus)[:300]}


def build_catalog() -> dict[str, Any]:
    from ..adapters.pycaret3.probe import probe

    tasks = [family.describe(task, probe) for family in families() for task in family.tasks]
    return {"version": CATALOG_VERSION, "versions": library_versions(), "gpu": gpu_status(), "tasks": tasks}
