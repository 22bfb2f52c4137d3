"""PyCaret 3.x behind one adapter package: the only code in the engine that imports PyCaret.

When PyCaret 4 is stable, a sibling ``pycaret4`` package with the same surface replaces this one.
"""

from .common import CompareHooks, ModelResult, estimator_params, leaderboard_rows
from .supervised import SupervisedSession


__all__ = ["CompareHooks", "ModelResult", "SupervisedSession", "estimator_params", "leaderboard_rows"]
