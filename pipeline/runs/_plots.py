"""Per-trial curve plots (PNG): task metric and loss by epoch, recommended stop marked."""

from __future__ import annotations

import io

from pipeline import names
from pipeline.names import task_metric

LABEL_COLOURS = {
    names.GOOD_FIT: "#2e7d32", names.HIGH_BIAS: "#ef6c00", names.HIGH_VARIANCE: "#c62828",
    names.HIGH_BIAS_HIGH_VARIANCE: "#6a1b9a", names.DIVERGED: "#455a64", names.FAILED: "#455a64",
    names.PRUNED: "#78909c",
}


def curve_plot_png(curves: dict[str, list[float]], *, task: str, title: str, label: str | None = None,
                   recommended_epochs: int | None = None, reference_error: float | None = None) -> bytes:
    """A two-panel PNG (task metric, loss) of training and validation curves.

    The recommended stopping epoch is a dashed vertical line; the label is written in the title.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return _draw(Figure, curves, task=task, title=title, label=label, recommended_epochs=recommended_epochs,
                 reference_error=reference_error)


def _draw(Figure, curves: dict[str, list[float]], *, task: str, title: str, label: str | None,
          recommended_epochs: int | None, reference_error: float | None) -> bytes:
    metric = task_metric(task)
    figure = Figure(figsize=(8, 3.2), dpi=90)  # fixed margins: a constrained layout costs 60% more per plot
    axes = figure.subplots(1, 2)
    for ax, (name, unit) in zip(axes, ((metric, "error rate" if metric == "error" else "RMSE"), ("loss", "loss"))):
        train, val = curves.get(names.train_curve(name), []), curves.get(names.val_curve(name), [])
        epochs = range(1, max(len(train), len(val)) + 1)
        ax.plot(list(epochs)[:len(train)], train, label="train (epoch end)", color="#1565c0")
        ax.plot(list(epochs)[:len(val)], val, label="validation", color="#d84315")
        if name == "loss" and curves.get(names.RUNNING_LOSS):
            running = curves[names.RUNNING_LOSS]
            ax.plot(list(epochs)[:len(running)], running, label="train (Keras running)", color="#1565c0",
                    alpha=0.4, linestyle=":")
        if name == metric and reference_error is not None:
            ax.axhline(reference_error, color="#616161", linewidth=0.8, linestyle="-.", label="reference")
        if recommended_epochs:
            ax.axvline(recommended_epochs, color="#2e7d32", linestyle="--", linewidth=1, label="recommended stop")
        ax.set_xlabel("epoch")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    heading = title if label is None else f"{title}  [{label}]"
    # a run name such as '$\\badcmd$' is text, not mathtext (the only text that is not fitcheck's own)
    figure.suptitle(heading, fontsize=9, color=LABEL_COLOURS.get(label or "", "black"), parse_math=False)
    figure.subplots_adjust(left=0.09, right=0.99, bottom=0.15, top=0.89, wspace=0.28)
    buffer = io.BytesIO()
    # zlib's fastest level: 1.06x the bytes (43.5 kB against 40.9 kB)
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()
