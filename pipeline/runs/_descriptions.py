"""Runs in words: the markdown MLflow shows as a run's description (its ``mlflow.note.content`` tag).

A trial's description says its label, the evidence, the advice and where to stop; a sweep's
summarises its trials by label and links to them. Pure: builds text from a
:class:`~pipeline.diagnostics.Diagnosis`, plain rows and the links it is given (the MLflow UI's
addresses are :mod:`pipeline.tracking`'s); never imports MLflow and writes nothing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline import names
from pipeline.diagnostics import LABEL_ADVICE, Diagnosis
from pipeline.runs._untrusted import markdown_text

#: Longest description written: MLflow keeps 8000 characters of a tag and fitcheck's writer 5000.
MAX_CHARS = 5000
#: Marks the part of a description fitcheck wrote, so a later diagnosis replaces it and keeps the user's text.
MARKER = "<!-- fitcheck -->"
#: The advice for a trial that failed with an error (an exception), not because its loss became NaN or infinite.
FAILED_ADVICE = " ".join([LABEL_ADVICE[names.FAILED][0], *LABEL_ADVICE[names.FAILED][1]])


@dataclass(frozen=True)
class TrialLine:
    """One trial of a sweep as its description lists it (read back from its run)."""

    run_id: str
    name: str
    label: str
    best_val: float | None = None
    recommended_val: float | None = None
    recommended_epochs: int | None = None
    #: Training rows it trained on (a learning curve's smaller sizes are never the best configuration).
    n_train: int | None = None
    #: Its run's page in the MLflow UI (relative, ``#/experiments/...``); the name links there.
    link: str | None = None


def number(value: float | None, metric: str, *, difference: bool = False) -> str:
    """A task metric for people: an error rate in percent (a difference in points), an RMSE to 4 digits.

    >>> number(0.0825, "error"), number(0.0825, "error", difference=True), number(1.23456, "rmse")
    ('8.2%', '8.2 pp', '1.235')
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    if metric == "error":
        return f"{100 * value:.1f} pp" if difference else f"{100 * value:.1f}%"
    return f"{value:.4g}"


def _pp(value: float | None, metric: str) -> str:
    return number(value, metric, difference=True)


def _title(label: str) -> str:
    return names.LABEL_TITLES.get(label, label)


def trial_description(diagnosis: Diagnosis | None, *, failure: str | None = None,
                      diverged_epoch: int | None = None, pruned_epoch: int | None = None,
                      stopped_epoch: int | None = None, kept_epoch: int | None = None) -> str:
    """A trial run's description: label, evidence in one line, advice and the recommended epoch.

    ``failure`` (why the run failed) makes the label ``diverged`` whatever the diagnosis says;
    ``pruned_epoch`` (successive halving stopped it) makes it ``pruned``, and the diagnosis of the
    curves so far follows. ``stopped_epoch`` and ``kept_epoch`` say where early stopping ended it.
    """
    lines = [MARKER]
    if diagnosis is None and failure is None:
        return "\n".join([*lines, f"### {_title(names.UNDIAGNOSED).capitalize()}", "",
                          "No curves were logged, so there is nothing to diagnose."])
    d, metric = diagnosis, diagnosis.metric if diagnosis is not None else None
    if failure is not None:
        # the failure is untrusted text (an exception's message): literal markdown, one line, bounded
        if diverged_epoch:  # the loss became NaN or infinite
            headline, steps = LABEL_ADVICE[names.DIVERGED]
            advice = d.advice if d is not None and d.label == names.DIVERGED else f"{headline} {steps[0]}"
            title, evidence = _title(names.DIVERGED).capitalize(), f"the run failed at epoch {diverged_epoch}"
        else:  # an exception: not divergence, so no advice about the learning rate
            advice = FAILED_ADVICE
            title, evidence = _title(names.FAILED).capitalize(), "the run failed with an error"
        lines += [f"### {title}", "", f"**Evidence:** {evidence}: {markdown_text(failure)}", "", f"**Advice:** {advice}"]
    else:
        if pruned_epoch is not None:
            lines += [f"### {_title(names.PRUNED).capitalize()}", "",
                      f"**Pruned** at epoch {pruned_epoch}: by successive halving, its best validation {metric} so far "
                      "was not among the best of the sweep's trials at that epoch. Its curves up to there read as "
                      f"{_title(d.label)}.", ""]
        evidence_epoch = d.evidence_epoch if d.evidence_epoch is not None else d.epochs_run
        where = (f"last epoch, {evidence_epoch}" if evidence_epoch == d.epochs_run
                 else f"kept epoch {evidence_epoch} of the {d.epochs_run} trained")
        lines += [f"### {_title(d.label).capitalize()}{_label_detail(d)}", "", (
            f"**Evidence** ({where}): training {metric} {number(d.train_metric, metric)}, "
            f"validation {metric} {number(d.val_metric, metric)}, reference {number(d.reference_error, metric)} "
            f"({names.REFERENCE_SOURCES.get(d.reference_source, d.reference_source)}); "
            f"gap {_pp(d.variance_gap, metric)} ± {_pp(d.variance_gap_se, metric)} "
            f"(counts above {_pp(d.variance_threshold, metric)}), "
            f"avoidable bias {_pp(d.avoidable_bias, metric)} (counts above {_pp(d.bias_threshold, metric)})."),
            "", f"**Advice:** {d.advice}"]
    if d is None:
        return "\n".join(lines)
    lines.append("")
    if d.recommended_epochs is not None:
        lines.append(f"**Recommended epoch:** {d.recommended_epochs} of {d.epochs_run}: there the smoothed validation "
                     f"{metric} is {number(d.recommended_val_metric, metric)} and the fit is "
                     f"{_title(d.label_at_recommended)}.")
        stop = d.early_stopping
        if stop:
            lines += ["", f"`keras.callbacks.EarlyStopping(monitor={stop['monitor']!r}, mode={stop['mode']!r}, "
                          f"patience={stop['patience']}, min_delta={stop['min_delta']:.4g}, restore_best_weights=True)`"]
    if stopped_epoch is not None:
        lines += ["", f"**Stopped early** at epoch {stopped_epoch}, once the recommended epoch could no longer "
                      f"change; the weights of epoch {kept_epoch} were kept."]
    if d.data_size is not None:
        lines += ["", f"**More data?** {_capital(d.data_size.advice)}. Evidence: {d.data_size.evidence}."]
    if d.notes:
        lines += ["", *(f"- {note}" for note in d.notes)]
    return "\n".join(lines)


def _label_detail(d: Diagnosis) -> str:
    """What qualifies the label: still learning (``converged: no``), unstable, borderline."""
    details = []
    if d.converged is False and d.label in (names.HIGH_BIAS, names.HIGH_BIAS_HIGH_VARIANCE):
        details.append("converged: no, still learning")
    if d.unstable:
        details.append(f"unstable from epoch {d.unstable_epoch}")
    if d.borderline:
        details.append(f"borderline {' and '.join(d.borderline)}")
    if d.memorised_noise:
        details.append("the gap is memorised noise")
    return f" ({'; '.join(details)})" if details else ""


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def merge_description(existing: str | None, ours: str) -> str:
    r"""A run's description with fitcheck's part replaced (or added below the user's own text).

    >>> merge_description("my notes", MARKER + "new")
    'my notes\n\n<!-- fitcheck -->new'
    >>> merge_description("my notes\n\n" + MARKER + "old", MARKER + "new")
    'my notes\n\n<!-- fitcheck -->new'
    """
    kept = (existing or "").split(MARKER)[0].rstrip()
    return f"{kept}\n\n{ours}" if kept else ours


def best_trial(trials: Sequence[TrialLine]) -> TrialLine | None:
    """The trial with the lowest best validation metric among those that did not diverge or get pruned (the
    report's rule), at the sweep's largest training size (a trial without ``n_train`` counts as full)."""
    largest = max((t.n_train for t in trials if t.n_train is not None), default=None)
    fitted = [t for t in trials if t.label not in names.NOT_RANKED and t.best_val is not None
              and math.isfinite(t.best_val) and (t.n_train is None or t.n_train == largest)]
    return min(fitted, key=lambda t: t.best_val) if fitted else None


def sweep_description(trials: Sequence[TrialLine], *, task: str,
                      reference_error: float | None, reference_source: str, view_link: str | None = None,
                      learning_curves: Sequence[tuple[str, str | None, str]] = ()) -> str:
    """A sweep (parent) run's description: counts by label, the best configuration, the reference,
    a link to the view of its trials, the verdict of each learning curve over training-set size
    (``(configuration, link to the run of its largest size, verdict in words)``) and a table of trials
    by label, each linking to its run.

    Links are relative to the MLflow UI (``#/experiments/...``), so they work wherever it is served.
    The table is cut, with a note, to keep the text under :data:`MAX_CHARS`.
    """
    metric = names.task_metric(task)
    order = {label: rank for rank, label in enumerate((*names.LABELS, names.UNDIAGNOSED))}
    counts = Counter(t.label for t in trials)
    counted = ", ".join(f"{count} {_title(label)}" for label, count in sorted(counts.items(), key=lambda i: order.get(i[0], 99)))
    lines = [MARKER, f"### Sweep of {len(trials)} trials: {counted or 'none finished'}", ""]
    best = best_trial(trials)
    if best is not None:
        stop = f", stop at epoch {best.recommended_epochs}" if best.recommended_epochs is not None else ""
        lines += [f"**Best configuration:** {_linked(best.name, best.link)}, "
                  f"{_title(best.label)}, best validation {metric} {number(best.best_val, metric)}{stop}.", ""]
    source = names.REFERENCE_SOURCES.get(reference_source, reference_source)
    lines += [f"**Reference {metric}:** {number(reference_error, metric)} ({source}).", ""]
    if view_link:
        lines += [f"[Open the trials grouped by label]({view_link}), with the columns that compare them; "
                  "the chart view plots each trial's curves and summary metrics.", ""]
    if learning_curves:
        lines += ["#### More data or more capacity? Learning curves over training-set size", "",
                  f"The parent's `lc_val_{metric}/<configuration>` metrics plot each curve (step = training rows).", ""]
        lines += [f"- {_linked(name, link)}: {verdict}." for name, link, verdict in learning_curves]
        lines.append("")
    header = ["#### Trials by label", "",
              f"| label | trial | validation {metric} at the recommended epoch | recommended epochs |", "|---|---|---|---|"]
    ranked = sorted(trials, key=lambda t: (order.get(t.label, 99), _sort_value(t.recommended_val), t.name))
    rows = [f"| {_title(t.label)} | {_linked(t.name, t.link)} | "
            f"{number(t.recommended_val, metric)} | {'' if t.recommended_epochs is None else t.recommended_epochs} |"
            for t in ranked]
    text = "\n".join([*lines, *header])
    for shown, row in enumerate(rows):
        if len(text) + len(row) + 120 > MAX_CHARS:
            return f"{text}\n\n… and {len(rows) - shown} more trials: open the view above to see them all."
        text += "\n" + row
    return text


def _text(value: str) -> str:
    """A name as literal markdown text: no table break, link or HTML tag (MLflow renders notes as HTML)."""
    return markdown_text(value)


def _linked(name: str, link: str | None) -> str:
    """A name as markdown, linking to ``link`` when there is one."""
    return f"[{_text(name)}]({link})" if link else _text(name)


def launcher_description(*, sweep_name: str, sweep_link: str, experiment_name: str, view_link: str) -> str:
    """The description of the run ``mlflow run`` made: which sweep it ran, and where to see it."""
    return (f"{MARKER}\nRan the fitcheck sweep [{_text(sweep_name)}]({sweep_link}) "
            f"in experiment {_text(experiment_name)!r}: [its trials grouped by label]({view_link}).")


def _sort_value(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else math.inf
