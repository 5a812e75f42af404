"""A PNG of a completed run: the daily fan (P5–P95, P25–P75, median) and the revenue histogram."""

from __future__ import annotations

import io
from typing import Any

from scout.errors import NotFound


def render_png(run: dict[str, Any]) -> bytes:
    if run["status"] != "completed" or not run.get("results"):
        raise NotFound(f"run {run['run_id']} has no results yet (status {run['status']})")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = run["results"]
    fig, (fan_ax, hist_ax) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    fan = results.get("daily_fan")
    if fan:
        days = range(1, len(fan["p50"]) + 1)
        fan_ax.fill_between(days, fan["p5"], fan["p95"], alpha=0.2, color="tab:blue", label="P5–P95")
        fan_ax.fill_between(days, fan["p25"], fan["p75"], alpha=0.4, color="tab:blue", label="P25–P75")
        fan_ax.plot(days, fan["p50"], color="tab:blue", label="median")
        fan_ax.set(title="Daily revenue (PHP)", xlabel="day of horizon")
        fan_ax.legend(loc="upper left", fontsize=8)
    edges, counts = results["histogram"]["edges"], results["histogram"]["counts"]
    hist_ax.bar(
        edges[:-1],
        counts,
        width=[b - a for a, b in zip(edges[:-1], edges[1:])],
        align="edge",
        color="tab:green",
        alpha=0.7,
    )
    if results.get("target") is not None:
        hist_ax.axvline(results["target"], color="tab:red", linestyle="--", label="target")
        hist_ax.legend(fontsize=8)
    hist_ax.set(title=f"Revenue over {run['horizon_days']} days ({results['iterations']:,} iterations)", xlabel="PHP")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
