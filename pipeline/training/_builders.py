"""A user's model builder: find it, ship it to the workers, and check that its model fits the task.

A builder is a function ``build_model(hp, input_shape, task, n_outputs) -> keras.Model``:

- ``hp``: the trial's hyperparameters, a dict of the grid's builder keys (``{"filters": 16, "depth": 2}``);
- ``input_shape``: one sample's shape, e.g. ``(8, 8, 1)`` or ``(n_features,)``;
- ``task``: ``"binary"``, ``"multiclass"`` or ``"regression"``;
- ``n_outputs``: the output units the task and loss need (see :data:`OUTPUT_CONVENTIONS`).

It returns an uncompiled model; fitcheck compiles it with the trial's loss, optimizer and learning
rate (a compiled one is compiled again, with a warning). Its last computing layer's activation (nested
models looked through) says how to read it: ``sigmoid`` or ``softmax`` outputs are probabilities, a
``linear`` (or no) activation gives logits, compiled with ``from_logits=True``; an activation that cannot
be read for the task and loss (:func:`accepted_activations`) is refused.

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
from pipeline.names import BINARY, REGRESSION
from pipeline.spec import CROSSENTROPY_LOSSES, MARGIN_LOSSES, TRAINING_KEYS
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


def build(config, *, input_shape: tuple[int, ...], task: str, n_classes: int, builder: Callable | None = None,
          hyperparameters: dict | None = None, model_name: str = ""):
    """The trial's model from its builder (``config.builder`` unless ``builder`` is given), and its head and loss.

    ``hyperparameters`` is the ``hp`` the builder is given (default: the trial's, as a dict); ``model_name``
    how messages name the builder (default: ``model <reference>``). Returns ``(model, head, loss)``: the
    model, the :class:`OutputHead` its outputs are read with, and the loss to compile it with
    (``from_logits`` set for a crossentropy loss on logits).
    """
    function = builder or load_builder(config.builder)
    n_outputs = output_head(task, config.loss, n_classes).units
    hp = dict(config.hyperparameters) if hyperparameters is None else hyperparameters
    model = function(hp, tuple(input_shape), task, n_outputs)
    head, from_logits = model_head(model, task=task, loss=config.loss, n_classes=n_classes,
                                   model_name=model_name or f"model {config.model}")
    return model, head, compile_loss(config.loss, from_logits=from_logits)


def accepted_activations(task: str, loss: str, units: int) -> tuple[str, ...]:
    """The output activations a builder's model may end with for ``task`` and ``loss`` (``units`` outputs).

    >>> accepted_activations("binary", "binary_crossentropy", 1), accepted_activations("regression", "mse", 1)
    (('sigmoid', 'linear'), ('linear',))
    """
    if task == REGRESSION:
        return ("linear",)
    if loss in MARGIN_LOSSES:
        return ("linear", "tanh")
    return ("sigmoid", "linear") if units == 1 else ("softmax", "linear")


def model_head(model, *, task: str, loss: str, n_classes: int, model_name: str) -> tuple[OutputHead, bool]:
    """How a builder's model is read for ``task`` and ``loss``: its head, and whether it outputs logits.

    The output activation is the last computing layer's, looking through nested models and past
    layers that only pass values on (dropout, reshaping); one that cannot be read for the task and loss
    (``relu`` on a binary output, ``sigmoid`` on a regression) is refused.

    Raises
    ------
    FitcheckError
        One line, when the model is not a Keras model or its output cannot be evaluated for the task.
    """
    expected = output_head(task, loss, n_classes)
    shape = _output_shape(model, model_name)
    if len(shape) != 2 or shape[1] != expected.units:
        accepted = f"(None, {expected.units})"
        raise FitcheckError(f"{model_name}: output shape {_shape_text(shape)} cannot be evaluated for a {task} "
                            f"task with loss {loss}; accepted: {accepted} ({OUTPUT_CONVENTIONS[task]})")
    activation = _last_activation(model)
    accepted = accepted_activations(task, loss, expected.units)
    if activation is not None and activation not in accepted:
        raise FitcheckError(f"{model_name}: output activation {echo(activation)} cannot be read for a {task} task "
                            f"with loss {loss}; accepted: {' or '.join(accepted)} (linear: no activation)")
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


#: Layers that pass their input on without computing: the output's activation is an earlier layer's.
_PASS_THROUGH = frozenset({"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
                           "GaussianDropout", "AlphaDropout", "Flatten", "Reshape", "Permute", "ActivityRegularization",
                           "InputLayer", "Identity", "Masking"})
#: Activation layers, by the activation they apply.
_ACTIVATION_LAYERS = {"Softmax": "softmax", "ReLU": "relu", "LeakyReLU": "leaky_relu", "ELU": "elu", "PReLU": "prelu"}
_PASSED = object()  # a model (or layer) that only passes its input on


def _last_activation(model) -> str | None:
    """The name of the activation the model's output goes through last, as far as its layers say.

    Looks through nested models (an outer ``Sequential`` around the user's model) and past pass-through
    layers to the last layer that computes; None when that layer does not say (a custom layer).
    """
    found = _activation_of(model)
    return None if found is _PASSED else found


def _activation_of(layer):
    kind = type(layer).__name__
    if kind in _PASS_THROUGH:
        return _PASSED
    if kind in _ACTIVATION_LAYERS:
        return _ACTIVATION_LAYERS[kind]
    inner = getattr(layer, "layers", None)
    if inner is not None:  # a nested model: its own last computing layer
        for sublayer in reversed(list(inner)):
            found = _activation_of(sublayer)
            if found is not _PASSED:
                return found
        return _PASSED
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) or (activation if isinstance(activation, str) else None)


class _ReadRecorder(dict):
    """A trial's ``hp`` that remembers which keys its builder read (copying or iterating it reads them all)."""

    def __init__(self, values):
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)

    def __iter__(self):
        self.read.update(dict.keys(self))
        return super().__iter__()

    def keys(self):
        self.read.update(dict.keys(self))
        return super().keys()

    def values(self):
        self.read.update(dict.keys(self))
        return super().values()

    def items(self):
        self.read.update(dict.keys(self))
        return super().items()

    def pop(self, key, *default):
        self.read.add(key)
        return super().pop(key, *default)

    def setdefault(self, key, default=None):
        self.read.add(key)
        return super().setdefault(key, default)

    def copy(self):
        self.read.update(dict.keys(self))
        return dict(super().items())


def check_and_count(function: Callable, configs, *, input_shape: tuple[int, ...], task: str,
                    n_classes: int, model_name: str = "", warnings: list[str] | None = None) -> dict[tuple, int]:
    """Build each distinct model of ``configs`` once, check its output (:func:`model_head`) and count its
    parameters: ``{(hyperparameters, loss): model.count_params()}``.

    Run in the sweep's process before anything is written to MLflow, so a builder that fails or
    outputs the wrong shape or activation is refused in one line. With ``warnings`` (a list), appends one
    line saying that a compiled model is compiled again with each trial's loss and optimizer, and one per
    grid key that no build read (its values only repeat the same model), for the caller to show once.
    """
    import keras

    counts: dict[tuple, int] = {}
    offered: dict[str, None] = {}
    read: set[str] = set()
    compiled = False
    try:
        for config in configs:
            key = (config.hyperparameters, config.loss)
            if key in counts:
                continue
            name = model_name or f"model {config.model}"
            hp = _ReadRecorder(config.hyperparameters)
            try:
                model, _, _ = build(config, input_shape=input_shape, task=task, n_classes=n_classes, builder=function,
                                    hyperparameters=hp, model_name=name)
            except FitcheckError:
                raise
            except Exception as error:  # noqa: BLE001 - the user's builder failed: say so in one line
                raise FitcheckError(f"{name}: building it with hp={dict(config.hyperparameters)} "
                                    f"raised {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
                                    ) from None
            read |= hp.read
            offered.update(dict.fromkeys(hp_name for hp_name, _ in config.hyperparameters))
            compiled = compiled or bool(getattr(model, "compiled", False))
            counts[key] = int(model.count_params())
    finally:
        keras.backend.clear_session()
    if warnings is not None and counts:
        name = model_name or f"model {next(iter(configs)).model}"
        if compiled:
            warnings.append(f"{name}: returns a compiled model; fitcheck compiles it again with each trial's loss, "
                            "optimizer and learning_rate (its own compile settings are not used)")
        warnings += [f"{name}: grid key {echo(unread)} is never read by the builder (hp[{echo(unread)}]), so its values "
                     f"only repeat the same model; training axes: {', '.join(TRAINING_KEYS)}"
                     for unread in offered if unread not in read]
    return counts
