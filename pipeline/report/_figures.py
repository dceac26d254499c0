"""Stage 3 of the report: matplotlib figures, each returned as an SVG ``data:`` URI for an ``<img>``.

All drawing happens here, under one style context, with the Agg backend. An SVG inside ``<img>`` cannot
run script, so a figure's text (axis values come from the user's spec) can never become markup.
"""

from __future__ import annotations

import base64
import io
import math
from contextlib import contextmanager

TRAIN_COLOR, VAL_COLOR, GAP_COLOR, REFERENCE_COLOR = "#2563eb", "#ea580c", "#7c3aed", "#64748b"
_STYLE = {
    "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9, "axes.titlesize": 10, "axes.titleweight": "bold", "axes.labelsize": 9,
    "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": "#94a3b8",
    "axes.grid": True, "grid.color": "#e2e8f0", "grid.linewidth": 0.8, "axes.axisbelow": True,
    "xtick.color": "#475569", "ytick.color": "#475569", "legend.frameon": False, "legend.fontsize": 8,
    "svg.fonttype": "path", "svg.hashsalt": "fitcheck",
    "text.parse_math": False,  # a run or axis value such as '$\\badcmd$' is text, never mathtext
}


@contextmanager
def _figure(width: float, height: float, ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.style.context(_STYLE):
        fig, axes = plt.subplots(1, ncols, figsize=(width, height), layout="constrained")
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def _data_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _tick(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def capacity_figure(effects: list[dict], axis: str, metric: str, reference: float | None) -> str:
    """Train and validation ``metric`` against a capacity axis (depth): the classic bias/variance picture,
    at the last epoch (solid) and at each trial's recommended epoch (dashed), where early stopping would end."""
    with _figure(6.4, 3.7) as (fig, ax):
        positions = list(range(len(effects)))
        train = [_median(effect["train_values"]) for effect in effects]
        val = [_median(effect["val_values"]) for effect in effects]
        rec_train = [_median(effect["rec_train_values"]) for effect in effects]
        rec_val = [_median(effect["rec_val_values"]) for effect in effects]
        for position, effect in zip(positions, effects):
            spread = [(index % 7 - 3) * 0.025 for index in range(max(len(effect["train_values"]),
                                                                        len(effect["val_values"])))]
            ax.scatter([position - 0.08 + s for s in spread[:len(effect["train_values"])]], effect["train_values"],
                       s=7, color=TRAIN_COLOR, alpha=0.18, linewidths=0)
            ax.scatter([position + 0.08 + s for s in spread[:len(effect["val_values"])]], effect["val_values"],
                       s=7, color=VAL_COLOR, alpha=0.18, linewidths=0)
        if reference is not None and math.isfinite(reference):
            ax.axhline(reference, color=REFERENCE_COLOR, linestyle="--", linewidth=1, label="reference")
            ax.fill_between(positions, [reference] * len(positions), train, color=REFERENCE_COLOR, alpha=0.08,
                            label="avoidable bias")
        ax.fill_between(positions, train, val, color=GAP_COLOR, alpha=0.10, label="gap (variance)")
        ax.plot(positions, train, marker="o", color=TRAIN_COLOR, linewidth=2, label=f"train {metric}, last epoch")
        ax.plot(positions, val, marker="o", color=VAL_COLOR, linewidth=2, label=f"validation {metric}, last epoch")
        if any(math.isfinite(value) for value in rec_val):
            ax.plot(positions, rec_train, marker="s", color=TRAIN_COLOR, linewidth=1.4, linestyle="--",
                    markerfacecolor="white", label=f"train {metric}, recommended epoch")
            ax.plot(positions, rec_val, marker="s", color=VAL_COLOR, linewidth=1.4, linestyle="--",
                    markerfacecolor="white", label=f"validation {metric}, recommended epoch")
        ax.set_xticks(positions, [_tick(effect["value"]) for effect in effects])
        ax.set_xlim(-0.5, len(positions) - 0.5)
        ax.set_xlabel(f"{axis} (capacity →)")
        ax.set_ylabel(f"{metric} (median over trials)")
        ax.set_title(f"Capacity: {metric} against {axis}", loc="left")
        fig.legend(loc="outside lower center", ncols=3)
        return _data_uri(fig)


def effect_figure(effects: list[dict], axis: str, metric: str) -> str:
    """Mean train/validation ``metric`` per value of ``axis`` (left) and the mean gap with its standard error."""
    with _figure(5.4, 2.3, ncols=2) as (fig, (error_ax, gap_ax)):
        positions = list(range(len(effects)))
        labels = [_tick(effect["value"]) for effect in effects]
        error_ax.bar([p - 0.2 for p in positions], [effect["train"] for effect in effects], width=0.38,
                     color=TRAIN_COLOR, label="train")
        error_ax.bar([p + 0.2 for p in positions], [effect["val"] for effect in effects], width=0.38,
                     color=VAL_COLOR, label="validation")
        error_ax.set_xticks(positions, labels)
        error_ax.set_title(f"mean final {metric}", loc="left")
        error_ax.set_ylim(0, 1.3 * max([effect["val"] for effect in effects if math.isfinite(effect["val"])] or [1]))
        error_ax.legend(loc="upper right", ncols=2)
        gaps = [effect["gap"] for effect in effects]
        gap_ax.bar(positions, gaps, width=0.5, color=GAP_COLOR, alpha=0.85,
                   yerr=[effect["gap_se"] for effect in effects], ecolor="#334155", capsize=3)
        gap_ax.axhline(0, color="#334155", linewidth=0.8)
        gap_ax.set_xticks(positions, labels)
        gap_ax.set_title("mean gap (val − train)", loc="left")
        for ax in (error_ax, gap_ax):
            ax.set_xlabel(axis)
            ax.tick_params(axis="x", labelrotation=20 if max(map(len, labels)) > 8 else 0)
        return _data_uri(fig)


def learning_curve_figure(curves: list[dict], metric: str, reference: float | None) -> str:
    """Train and validation ``metric`` at the recommended epoch against training rows (log scale), one panel
    per configuration, with the reference and, where judged, the power law's point at twice the data."""
    columns = min(3, len(curves))
    rows = math.ceil(len(curves) / columns)
    with _figure(3.1 * columns, 2.5 * rows + 0.5, ncols=columns) as (fig, axes):
        fig.clear()
        for index, curve in enumerate(curves):
            ax = fig.add_subplot(rows, columns, index + 1)
            sizes = curve["n_train"]
            if curve["train"]:
                ax.plot(sizes, curve["train"], marker="o", color=TRAIN_COLOR, linewidth=1.8, label=f"train {metric}")
            ax.plot(sizes, curve["val"], marker="o", color=VAL_COLOR, linewidth=1.8, label=f"validation {metric}")
            if reference is not None and math.isfinite(reference):
                ax.axhline(reference, color=REFERENCE_COLOR, linestyle="--", linewidth=1, label="reference")
            verdict = curve["verdict"]
            title = curve["name"]
            if verdict is not None:
                ahead = [sizes[-1] * 2 ** (step / 8) for step in range(9)]
                ax.plot(ahead, [verdict.predict(n) for n in ahead], color=VAL_COLOR, linestyle=":", linewidth=1.4)
                low, high = verdict.expected_at_2x_low, verdict.expected_at_2x_high
                ax.errorbar([2 * sizes[-1]], [verdict.expected_at_2x],
                            yerr=[[max(0.0, verdict.expected_at_2x - low)], [max(0.0, high - verdict.expected_at_2x)]],
                            fmt="D", color=VAL_COLOR, markerfacecolor="white", capsize=3,
                            label="expected at 2x (90% interval)")
                title += f"\nmore data helps: {verdict.more_data_helps.replace('_', ' ')}"
            ax.set_xscale("log", base=2)
            ticks = [*sizes, 2 * sizes[-1]] if verdict is not None else sizes
            ax.set_xticks(ticks, [str(n) for n in ticks])
            ax.minorticks_off()
            ax.set_xlabel("training rows (log scale)")
            ax.set_ylabel(f"{metric} at rec. epoch")
            ax.set_title(title, loc="left", fontsize=8.5)
            if index == 0:
                handles, labels = ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=4)
        return _data_uri(fig)


def path_figure(path: dict, metric: str, reference: float | None) -> str:
    """A recipe search's path (:func:`pipeline.report._path.best_so_far`): the lowest validation ``metric`` so far
    against trials spent over all rounds, each trial a dot, each round a span labelled "round k", the reference
    dashed."""
    from matplotlib.ticker import MaxNLocator

    with _figure(6.4, 3.2) as (fig, ax):
        for index, (number, first, last) in enumerate(path["spans"]):
            if index % 2 == 0:
                ax.axvspan(first - 0.5, last + 0.5, color=REFERENCE_COLOR, alpha=0.08, linewidth=0)
            if index:
                ax.axvline(first - 0.5, color=REFERENCE_COLOR, linewidth=0.8, linestyle=":")
            ax.text((first + last) / 2, 0.98, f"round {number}", transform=ax.get_xaxis_transform(), ha="center",
                    va="top", fontsize=8, color="#475569")
        ax.scatter(path["spent"], path["values"], s=18, color=VAL_COLOR, alpha=0.5, linewidths=0, zorder=3,
                   label=f"each trial's validation {metric}")
        ax.step(path["spent"], path["best"], where="post", color=VAL_COLOR, linewidth=2, marker="o", markersize=3,
                label=f"best validation {metric} so far")
        if reference is not None and math.isfinite(reference):
            ax.axhline(reference, color=REFERENCE_COLOR, linestyle="--", linewidth=1, label="reference")
        ax.set_xlim(0.5, len(path["spent"]) + 0.5)
        shown = [value for value in [*path["values"], reference] if value is not None and math.isfinite(value)]
        ax.set_ylim(0, 1.3 * (max(shown, default=0.0) or 1.0))  # room above for the rounds' names
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("trials spent (all rounds, in start order)")
        ax.set_ylabel(f"validation {metric} at rec. epoch")
        ax.set_title(f"The recipe's path: best validation {metric} so far", loc="left")
        fig.legend(loc="outside lower center", ncols=3)
        return _data_uri(fig)
