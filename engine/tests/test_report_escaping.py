"""The HTML report shows every user-chosen value as text: names, setup values and model facts are escaped."""

from __future__ import annotations

import pandas as pd

from caretflow_engine.report import build_report

HOSTILE = ["<script>alert(1)</script>", "{{7*7}}", "${7*7}", '"><img src=x onerror=alert(1)>', "{% debug %}"]


def test_report_escapes_user_text_and_keeps_template_syntax_inert() -> None:
    df = pd.DataFrame({name: [i, i + 1] for i, name in enumerate(HOSTILE)} | {"label": HOSTILE[:2]})
    page = build_report(
        title=HOSTILE[0],
        facts=[("dataset", HOSTILE[3]), ("experiment", HOSTILE[1])],
        df=df,
        target=HOSTILE[0],
        setup={HOSTILE[3]: HOSTILE[0]},
        leaderboard=[],
        sort_metric=HOSTILE[0],
        model={"name": HOSTILE[0], "params": {HOSTILE[3]: HOSTILE[2]}, "metrics": {}},
        charts=[],
        pngs=[],
    )
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    # Template syntax comes out as typed: nothing evaluates it.
    assert "{{7*7}}" in page and "${7*7}" in page and "{% debug %}" in page
