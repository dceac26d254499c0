"""A user's model builder: find it, ship it to the workers, and check that its model fits the task.

A builder is a function ``build_model(hp, input_shape, task, n_outputs) -> keras.Model``:

- ``hp``: the trial's hyperparameters, a dict of the grid's builder keys (``{"filters": 16, "depth": 2}``);
- ``input_shape``: one sample's shape, e.g. ``(8, 8, 1)`` or ``(n_features,)``;
- ``task``: ``"binary"``, ``"multiclass"`` or ``"regression"``;
- ``n_outputs``: the output units the task and loss need (see :data:`OUTPUT_CONVENTIONS`).

It returns an uncompiled model; fitcheck compiles it with the trial's loss, optimizer and learning
rate. Its last layer's activation says how to read it: ``sigmoid`` or ``softmax`` outputs are
probabilities, a ``linear`` (or no) activation gives logits, compiled with ``from_logits=True``.

This module imports Keras only to compile the loss (inside :func:`compile_loss`); it never
imports MLflow. Builders travel to worker processes and Ray actors as cloudpickle bytes, so a
function defined in a notebook or a test module works there as well.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import FitcheckError, echo
from pipeline.names import BINARY
from pipeline.spec import CROSSENTROPY_LOSSES
from pipeline.training._targets import OutputHead, output_head

#: What a builder's model must output, by task and loss (documented in the README).
OUTPUT_CONVENTIONS = {
    "regression": "1 linear unit",
    "binary": "1 unit: a sigmoid probability or a logit (binary_crossentropy, mse, mae, huber), a margin "
              "(hinge, squared_hinge); or 2 softmax units or logits with a categorical loss",
    "multiclass": "one unit per class: softmax probabilities or logits",
}
_LOSS_CLASSES = {"binary_crossentropy": "BinaryCrossentropy", "categorical_crossentropy": "CategoricalCrossentropy",
                 "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy"}


def builder_reference(function: Callable) -> str:
    """``module:qualified_name`` of a function, the ``model`` param of its trials."""
    return f"{getattr(function, '__module__', None) or '__main__'}:{getattr(function, '__qualname__', repr(function))}"


def resolve_builder(reference: str, *, folder: Path | None, source: str) -> Callable:
    """The function ``package.module:function`` names, or a one-line :class:`FitcheckError` naming the ``model`` key.

    The module is looked for in ``folder`` (the spec's), then the working folder, then the installed
    packages. The folders are searched after the installed packages and only while the module is
    imported (``sys.path`` is restored), so a file there named like an installed package never runs in
    its place; a module of the spec's that would shadow an installed one is refused. The module is
    trusted code: it runs as the user who runs the sweep.
    """
    module_name, _, attribute = reference.partition(":")
    folders = list(dict.fromkeys(str(path.resolve()) for path in [*([folder] if folder else []), Path.cwd()]))
    top = module_name.split(".")[0]
    local = importlib.machinery.PathFinder.find_spec(top, folders)
    installed = _installed_spec(top) if local is not None else None
    if installed is not None and installed.origin != local.origin:
        found = local.origin or next(iter(local.submodule_search_locations or []), top)
        raise FitcheckError(f"{source}: model: module {echo(top)} ({found}) has the name of an installed package "
                            f"({installed.origin}); rename the file so that it cannot shadow it")
    saved = list(sys.path)
    sys.path.extend(path for path in folders if path not in sys.path)
    try:
        target = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any failure importing the user's module is theirs to fix
        here = folder is None or folder.resolve() == Path.cwd().resolve()
        looked = "the working folder" if here else f"{folder} and the working folder"
        raise FitcheckError(f"{source}: model: cannot import module {echo(module_name)} "
                            f"({type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}); "
                            f"looked in {looked} and the installed packages") from None
    finally:
        sys.path[:] = saved
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise FitcheckError(f"{source}: model: module {echo(module_name)} has no {echo(attribute)}")
        target = getattr(target, part)
    if not callable(target):
        raise FitcheckError(f"{source}: model: {echo(reference)} must be a function but got {type(target).__name__}")
    return target


def _installed_spec(name: str):
    """Where ``import name`` finds the module without the spec's folders, or None."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def serialise_builder(function: Callable, *, where: str) -> bytes:
    """The builder as cloudpickle bytes, by value (its module need not be importable where it runs)."""
    import cloudpickle

    if not callable(function):
        raise FitcheckError(f"{where} must be a function (hp, input_shape, task, n_outputs) -> keras.Model "
                            f"but got {type(function).__name__}")
    module = sys.modules.get(getattr(function, "__module__", "") or "")
    by_value = module is not None and module.__name__ != "__main__" and not module.__name__.startswith("keras")
    if by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(function)
    except Exception as error:  # noqa: BLE001 - whatever the function holds that cannot be pickled
        raise FitcheckError(f"{where}: {builder_reference(function)} cannot be sent to worker processes "
                            f"({type(error).__name__}: {str(error).splitlines()[0][:200]}); define it at the top "
                            "level of a module or notebook cell") from None
    finally:
        if by_value:
            cloudpickle.unregister_pickle_by_value(module)


def load_builder(payload: bytes) -> Callable:
    """The builder :func:`serialise_builder` wrote."""
    import pickle

    return pickle.loads(payload)


def build(config, *, input_shape: tuple[int, ...], task: str, n_classes: int, builder: Callable | None = None):
    """The trial's model from its builder (``config.builder`` unless ``builder`` is given), and its head and loss.

    Returns ``(model, head, loss)``: the uncompiled model, the :class:`OutputHead` its outputs are read
    with, and the loss to compile it with (``from_logits`` set for a crossentropy loss on logits).
    """
    function = builder or load_builder(config.builder)
    n_outputs = output_head(task, config.loss, n_classes).units
    model = function(dict(config.hyperparameters), tuple(input_shape), task, n_outputs)
    head, from_logits = model_head(model, task=task, loss=config.loss, n_classes=n_classes, model_name=config.model)
    return model, head, compile_loss(config.loss, from_logits=from_logits)


def model_head(model, *, task: str, loss: str, n_classes: int, model_name: str) -> tuple[OutputHead, bool]:
    """How a builder's model is read for ``task`` and ``loss``: its head, and whether it outputs logits.

    Raises
    ------
    FitcheckError
        One line, when the model is not a Keras model or its output cannot be evaluated for the task.
    """
    expected = output_head(task, loss, n_classes)
    shape = _output_shape(model, model_name)
    if len(shape) != 2 or shape[1] != expected.units:
        accepted = f"(None, {expected.units})"
        raise FitcheckError(f"model {model_name}: output shape {_shape_text(shape)} cannot be evaluated for a {task} "
                            f"task with loss {loss}; accepted: {accepted} ({OUTPUT_CONVENTIONS[task]})")
    activation = _last_activation(model)
    from_logits = loss in CROSSENTROPY_LOSSES and activation in ("linear", None)
    if from_logits and task == BINARY and expected.units == 1:  # a logit is read at 0, not 0.5
        return OutputHead(task, 1, "linear", expected.encoding), True
    return expected, from_logits


def compile_loss(loss: str, *, from_logits: bool):
    """The Keras loss to compile a trial with: the name, or a crossentropy reading logits."""
    if not from_logits:
        return loss
    import keras

    return keras.losses.get({"class_name": _LOSS_CLASSES[loss], "config": {"from_logits": True}})


def _output_shape(model, model_name: str) -> tuple:
    try:
        shape = model.output_shape if hasattr(model, "output_shape") else model.output.shape
    except (AttributeError, ValueError):
        raise FitcheckError(f"model {model_name}: must return a built keras.Model (give it a keras.Input) but got "
                            f"{type(model).__name__} without an output shape") from None
    if isinstance(shape, list):
        raise FitcheckError(f"model {model_name}: must have one output but got {len(shape)}")
    return tuple(shape)


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + ("," if len(shape) == 1 else "") + ")"


def _last_activation(model) -> str | None:
    """The name of the activation the model's output goes through last, as far as its layers say."""
    layers = getattr(model, "layers", [])
    if not layers:
        return None
    last = layers[-1]
    if type(last).__name__ == "Softmax":
        return "softmax"
    activation = getattr(last, "activation", None)
    name = getattr(activation, "__name__", None) or (activation if isinstance(activation, str) else None)
    return name


def check_and_count(function: Callable, configs, *, input_shape: tuple[int, ...], task: str,
                    n_classes: int) -> dict[tuple, int]:
    """Build each distinct model of ``configs`` once, check its output (:func:`model_head`) and count its
    parameters: ``{(hyperparameters, loss): model.count_params()}``.

    Run in the sweep's process before anything is written to MLflow, so a builder that fails or
    outputs the wrong shape is refused in one line.
    """
    import keras

    counts: dict[tuple, int] = {}
    try:
        for config in configs:
            key = (config.hyperparameters, config.loss)
            if key in counts:
                continue
            try:
                model, _, _ = build(config, input_shape=input_shape, task=task, n_classes=n_classes, builder=function)
            except FitcheckError:
                raise
            except Exception as error:  # noqa: BLE001 - the user's builder failed: say so in one line
                raise FitcheckError(f"model {config.model}: building it with hp={dict(config.hyperparameters)} "
                                    f"raised {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
                                    ) from None
            counts[key] = int(model.count_params())
    finally:
        keras.backend.clear_session()
    return counts
