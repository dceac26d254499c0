"""``fitcheck next``'s work: read a sweep back, plan its next round, write the spec file with the reasons on top.

The spec is checked by the spec loader's rules before anything is written; an existing file is overwritten only
when asked. Nothing is written to MLflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline import names
from pipeline.errors import FitcheckError
from pipeline.recipe._next import ITEMS_PER_TRIAL, MAX_NEW, TOP, NextRound, next_round
from pipeline.recipe._previous import PreviousSweep, read_previous_sweep
from pipeline.spec import parse_spec
from pipeline.tracking import default_tracking_uri

#: A spec written by ``fitcheck next`` is named ``<stem>-next<k>.yaml``; the round after it ``-next<k+1>``.
NEXT_STEM = re.compile(r"^(?P<stem>.+)-next(?P<round>[0-9]+)$")
#: Where the next spec goes when no output is given, if the working folder has it (else the working folder).
SPEC_FOLDER = Path("experiments")


@dataclass(frozen=True)
class WrittenRound:
    """What :func:`write_next_round` did: the round it planned, the sweep it read, and the file (None: nothing to
    change, nothing written)."""

    plan: NextRound
    previous: PreviousSweep
    path: Path | None


def write_next_round(sweep: str, *, tracking_uri: str | None = None, output: str | Path | None = None,
                     force: bool = False, top: int = TOP, items_per_trial: int = ITEMS_PER_TRIAL,
                     max_new: int = MAX_NEW) -> WrittenRound:
    """Write the spec of a sweep's next round: the changes its best configurations' advice names, and why.

    Parameters
    ----------
    sweep : str
        A sweep (parent) run id, or an experiment's name for its latest sweep.
    tracking_uri : str, optional
        Where the sweep is logged (default: ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``).
    output : str or Path, optional
        The spec file to write (default: ``experiments/<stem>-next<k>.yaml``, or in the working folder when it has
        no ``experiments`` folder; ``<stem>`` is the previous spec's).
    force : bool, default False
        Overwrite ``output`` if it exists (else refused, nothing written).
    top, items_per_trial, max_new : int
        See :func:`pipeline.recipe.next_round`.

    Returns
    -------
    WrittenRound
        ``plan.reasons`` says why, change by change; ``path`` is None when nothing is left to change.

    Examples
    --------
    >>> written = write_next_round("book", tracking_uri="sqlite:///mlflow.db")  # doctest: +SKIP
    >>> written.path, [str(reason) for reason in written.plan.reasons]  # doctest: +SKIP
    """
    tracking_uri = tracking_uri or default_tracking_uri()
    previous = read_previous_sweep(sweep, tracking_uri=tracking_uri, top=top)
    planned = next_round(previous.spec, previous.trials, n_val=previous.n_val, metric=previous.metric,
                         n_train_full=previous.n_train, previous_sweep=previous.run_id,
                         experiment=previous.experiment, top=top, items_per_trial=items_per_trial, max_new=max_new)
    if planned.spec is None:
        return WrittenRound(planned, previous, None)
    path = Path(output) if output is not None else default_output(previous.spec_name)
    if path.exists() and not force:
        raise FitcheckError(f"{path}: exists; accepted: --force to overwrite it, or -o/--output naming another file")
    _check(planned.spec, path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(spec_text(planned, previous), encoding="utf-8")
    except OSError as error:  # a folder that is a file, no permission, a full disk: nothing half-written is left
        if path.is_file() and not path.stat().st_size:
            path.unlink()
        raise FitcheckError(f"{path}: cannot write the next round's spec ({error.strerror or error}); accepted: "
                            "-o/--output naming a file in a writable folder") from None
    return WrittenRound(planned, previous, path)


def default_output(spec_name: str) -> Path:
    """``experiments/book-next1.yaml`` for ``book``, ``experiments/book-next2.yaml`` for ``book-next1``."""
    found = NEXT_STEM.match(spec_name)
    stem = f"{found['stem']}-next{int(found['round']) + 1}" if found else f"{spec_name or 'sweep'}-next1"
    return (SPEC_FOLDER if SPEC_FOLDER.is_dir() else Path()) / f"{stem}.yaml"


def spec_text(planned: NextRound, previous: PreviousSweep) -> str:
    """The spec as YAML, under comments that say where it comes from and why it holds each configuration."""
    lines = [(f"# The next round of sweep {previous.run_id} (experiment {previous.experiment!r}), written by "
             "`fitcheck next`."),
             f"# Run it as any sweep; its parent run is tagged {names.PREVIOUS_SWEEP_TAG} = {previous.run_id}.",
             "# Why:"]
    lines += [f"#   - {reason}" for reason in planned.reasons]
    body = yaml.safe_dump(planned.spec, sort_keys=False, default_flow_style=None, allow_unicode=True, width=120)
    return "\n".join(lines) + "\n" + body


def _check(spec: dict, path: Path) -> None:
    """Refuse, before writing, a spec the loader would refuse from ``path``: its rules, and a data file it could not
    find from there (a path relative to the previous spec's folder)."""
    parsed = parse_spec(spec, source=str(path))
    file = parsed.dataset.file if parsed.dataset is not None else None
    if file is not None and not Path(file).is_absolute() and not (
            (path.parent / file).is_file() or Path(file).is_file()):
        raise FitcheckError(f"{path}: dataset file {file!r} would not be found from there (nor from the working "
                            "folder); accepted: -o/--output in the previous spec's folder, or run from that folder")
