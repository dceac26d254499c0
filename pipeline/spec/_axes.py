"""Every grid axis, declared once: adding a row to :data:`AXIS_TABLE` adds an axis everywhere.

Spec validation (:class:`pipeline.spec.GridSpec`), grid expansion and the trial's fields, keys,
params and run names (:mod:`pipeline.search._grid`), the samplers (:mod:`pipeline.search._sampling`)
and the fusion planner (:mod:`pipeline.training._fusion`) all derive from this table; none of them
lists axes of its own. Pure Python: it imports pydantic's types through :mod:`pipeline.spec._values`,
never Keras or MLflow.

An axis added after runs were logged must be ``added=True`` with a ``default``: at its default a
trial's key and a spec's fingerprint stay what they were, so earlier sweeps still resume.

Example
-------
>>> AXES[:3], by_name("seed").key, HIDDEN_LAYER_AXES
(('depth', 'width', 'activation'), 'seeds', ('width', 'activation', 'dropout'))
>>> trial_values({"depth": 0, "width": 32, "activation": "relu", "dropout": 0.5, "learning_rate": 1})["width"]
0
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Optional

from pipeline.names import FULL_TRAIN_SIZE
from pipeline.spec._losses import LOSSES
from pipeline.spec._values import (MAX_BATCH_SIZE, MAX_EPOCHS, MAX_L2, MAX_LAYERS, MAX_LEARNING_RATE, MAX_WIDTH, Seed,
                                   TrainSize, choice, real, whole)

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "leaky_relu", "linear", "swish", "softplus")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad", "nadam", "adamw", "adamax")

# -- roles: what an axis configures ------------------------------------------------------------
#: Shapes fitcheck's own MLP; a model builder's trials hold it at its ``absent`` value.
MODEL = "model"
#: Configures training, whatever builds the model; with a model builder, every other grid key is a hyperparameter.
TRAINING = "training"
ROLES = (MODEL, TRAINING)

# -- fusion: how trials trained as one fused model may differ ------------------------------------
#: The trials of one fused group share it (one optimizer steps every sub-network over one batch stream).
SHARED = "shared"
#: It only shapes a sub-network (layers, head, loss): it may differ within a group.
MEMBER = "member"
# None: a trial away from the axis's default trains alone (the fused model does not know the axis).

# -- when a run name shows an axis ---------------------------------------------------------------
ALWAYS = "always"
#: Left out at its default (``l2`` 0 is not named).
AWAY_FROM_DEFAULT = "away_from_default"
#: Left out at its default unless the name is of the varying axes (see ``TrialConfig.name``).
AWAY_FROM_DEFAULT_OR_VARYING = "away_from_default_or_varying"

# -- where a recipe search starts an axis it does not span ----------------------------------------
#: The first value the grid lists (the user's order says what they would try first).
FIRST_LISTED = "first_listed"
#: The smallest (no regularisation: the recipe adds it where a trial's variance asks for it).
SMALLEST = "smallest"
#: The middle of the sorted values (a learning rate neither too timid nor too bold).
MIDDLE = "middle"
#: The largest (train long: the recommended epoch says where to stop).
LARGEST = "largest"
STARTS = (FIRST_LISTED, SMALLEST, MIDDLE, LARGEST)


@dataclass(frozen=True)
class Axis:
    """One grid axis: how the spec spells and checks it, and how expansion, sampling, names and fusion treat it."""

    #: The trial's field and MLflow param.
    name: str
    #: The type of one value, bounds included (a pydantic type from :mod:`pipeline.spec._values`).
    values: Any
    #: The spec's default (the grid's default is ``[default]``) and, unless ``required``, the trial's.
    default: Any
    #: :data:`MODEL` or :data:`TRAINING`.
    role: str
    #: The axis in a run name: a format of its value, ``"-lr{:g}"``.
    label: str
    #: Where the label goes in a run name: labels are joined by increasing rank.
    name_rank: int
    #: The grid's key in a spec, when it differs from ``name`` (``seeds`` for ``seed``).
    spec_key: str = ""
    #: With a sampled search the axis may be a range ``{low, high, log}``, not only a list.
    rangeable: bool = False
    #: A :class:`TrialConfig` must be given it (a positional field without default).
    required: bool = False
    #: It shapes a hidden layer: a depth-0 network has none, so its values collapse to ``absent``.
    hidden_layer: bool = False
    #: Its value where the layer it shapes is missing: at depth 0 for a hidden-layer axis, and on every trial of
    #: a model builder for a model axis (None: its default).
    absent: Any = None
    #: Random and TPE searches draw it per configuration; an axis they do not draw (``seed``) repeats each one.
    sampled: bool = True
    #: :data:`SHARED`, :data:`MEMBER`, or None (a trial away from the default is not fused).
    fusion: Optional[str] = None
    #: Added after runs were first logged: a trial's key and a spec's fingerprint count it only away from its default.
    added: bool = False
    #: :data:`ALWAYS`, :data:`AWAY_FROM_DEFAULT` or :data:`AWAY_FROM_DEFAULT_OR_VARYING`.
    name_rule: str = ALWAYS
    #: It sizes the network: a recipe search's first round spans its values (smallest, middle, largest).
    capacity: bool = False
    #: Which listed value a recipe search's first round takes where it does not span the axis (:data:`STARTS`).
    start: str = FIRST_LISTED
    #: What the axis means, the spec field's description.
    doc: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"axis {self.name!r}: role must be one of {', '.join(ROLES)} but got {self.role!r}")
        if self.fusion not in (SHARED, MEMBER, None):
            raise ValueError(f"axis {self.name!r}: fusion must be 'shared', 'member' or None but got {self.fusion!r}")
        if self.added and self.required:
            raise ValueError(f"axis {self.name!r}: an added axis cannot be required (earlier trials lack it)")
        if self.start not in STARTS:
            raise ValueError(f"axis {self.name!r}: start must be one of {', '.join(STARTS)} but got {self.start!r}")
        if self.hidden_layer and self.absent is None:
            raise ValueError(f"axis {self.name!r}: a hidden-layer axis needs the value it collapses to (absent)")

    @property
    def key(self) -> str:
        """The grid's key in a spec."""
        return self.spec_key or self.name

    @property
    def kind(self) -> Any:
        """The Python type of a value: ``int``, ``float``, ``str``, or a union."""
        if typing.get_origin(self.values) is typing.Literal:
            return str
        return typing.get_args(self.values)[0] if typing.get_origin(self.values) is typing.Annotated else self.values

    def trial_value(self, value: Any) -> Any:
        """A value as a trial holds it: real axes as floats (a YAML ``1`` learning rate is ``1.0``)."""
        return float(value) if self.kind is float else value


#: Every axis, in the order params, reports and samplers list them.
AXIS_TABLE: tuple[Axis, ...] = (
    Axis("depth", whole(ge=0, le=MAX_LAYERS), 1, MODEL, "d{}", 10, rangeable=True, required=True, absent=0,
         fusion=MEMBER, capacity=True, doc="Hidden layers; 0 is logistic or linear regression."),
    Axis("width", whole(ge=1, le=MAX_WIDTH), 32, MODEL, "w{}", 20, rangeable=True, required=True, hidden_layer=True,
         absent=0, fusion=MEMBER, capacity=True, doc="Units per hidden layer."),
    Axis("activation", choice(ACTIVATIONS), "relu", MODEL, "-{}", 30, required=True, hidden_layer=True,
         absent="none", fusion=MEMBER, doc="The hidden layers' activation."),
    Axis("loss", choice(LOSSES), "binary_crossentropy", TRAINING, "-{}", 50, required=True, fusion=MEMBER,
         doc="The Keras loss; it must fit the task (pipeline.spec._losses)."),
    Axis("optimizer", choice(OPTIMIZERS), "adam", TRAINING, "-{}", 40, required=True, fusion=SHARED),
    Axis("learning_rate", real(gt=0, le=MAX_LEARNING_RATE), 0.001, TRAINING, "-lr{:g}", 60, rangeable=True,
         required=True, fusion=SHARED, start=MIDDLE),
    Axis("batch_size", whole(ge=1, le=MAX_BATCH_SIZE), 32, TRAINING, "-bs{}", 70, rangeable=True, required=True,
         fusion=SHARED),
    Axis("epochs", whole(ge=1, le=MAX_EPOCHS), 20, TRAINING, "-e{}", 80, rangeable=True, required=True,
         fusion=SHARED, start=LARGEST),
    Axis("seed", Seed, 0, TRAINING, "-s{}", 110, spec_key="seeds", required=True, sampled=False, fusion=SHARED,
         doc="Each configuration runs once per seed."),
    Axis("l2", real(ge=0, le=MAX_L2), 0.0, MODEL, "-l2{:g}", 90, rangeable=True, fusion=MEMBER,
         name_rule=AWAY_FROM_DEFAULT, start=SMALLEST, doc="L2 penalty on every layer's weights."),
    Axis("dropout", real(ge=0, lt=1), 0.0, MODEL, "-do{:g}", 100, rangeable=True, hidden_layer=True, absent=0.0,
         fusion=MEMBER, name_rule=AWAY_FROM_DEFAULT, start=SMALLEST, doc="Dropout after each hidden layer."),
    Axis("train_size", TrainSize, FULL_TRAIN_SIZE, TRAINING, "-n{:g}", 120, fusion=SHARED, added=True,
         name_rule=AWAY_FROM_DEFAULT_OR_VARYING,
         doc="The training rows a trial trains on: a fraction in (0, 1] of the training split or a row count >= 2 "
             "(pipeline.data.training_subset); nested subsets, each against the same validation split: a learning "
             "curve."),
)


def axes(*, role: Optional[str] = None, fusion: Optional[str] = None, sampled: Optional[bool] = None,
         hidden_layer: Optional[bool] = None, added: Optional[bool] = None) -> tuple[Axis, ...]:
    """The axes of :data:`AXIS_TABLE` that match every given filter, in table order.

    >>> [axis.name for axis in axes(role=TRAINING, sampled=False)]
    ['seed']
    """
    wanted = {"role": role, "fusion": fusion, "sampled": sampled, "hidden_layer": hidden_layer, "added": added}
    return tuple(axis for axis in AXIS_TABLE
                 if all(value is None or getattr(axis, field) == value for field, value in wanted.items()))


def by_name(name: str) -> Axis:
    """The axis a trial calls ``name`` (KeyError when there is none)."""
    return _BY_NAME[name]


def by_key(key: str) -> Axis:
    """The axis a spec's grid calls ``key`` (KeyError when there is none)."""
    return _BY_KEY[key]


_BY_NAME = {axis.name: axis for axis in AXIS_TABLE}
_BY_KEY = {axis.key: axis for axis in AXIS_TABLE}


def _names(selected: tuple[Axis, ...]) -> tuple[str, ...]:
    return tuple(axis.name for axis in selected)


#: Every axis's name: a trial's params (``names.AXES``).
AXES = _names(AXIS_TABLE)
#: Every axis's key in a spec's grid.
GRID_KEYS = tuple(axis.key for axis in AXIS_TABLE)
#: The trial fields that configure training, whatever builds the model.
TRAINING_AXES = _names(axes(role=TRAINING))
#: The spec's grid keys of :data:`TRAINING_AXES`: with a model builder, every other key is a hyperparameter.
TRAINING_KEYS = tuple(axis.key for axis in axes(role=TRAINING))
#: Axes a depth-0 network does not have (they collapse for it).
HIDDEN_LAYER_AXES = _names(axes(hidden_layer=True))
#: Axes a random or TPE search draws per configuration, in the order it draws them.
SAMPLED = _names(axes(sampled=True))
#: The axes that size the network (a recipe's first round spans them).
CAPACITY_AXES = tuple(axis.name for axis in AXIS_TABLE if axis.capacity)
#: Axes the trials of one fused group share, and axes that only shape its sub-networks.
FUSION_SHARED = _names(axes(fusion=SHARED))
FUSION_MEMBER = _names(axes(fusion=MEMBER))
#: Axes added after runs were first logged, with the default at which they leave keys and fingerprints alone.
ADDED_DEFAULTS = {axis.name: axis.default for axis in axes(added=True)}
#: The grid's product, slowest first: a configuration's drawn axes, then its repeats (``seed``), then the axes
#: added later, so a configuration's seeds (and training sizes) are neighbours.
EXPANSION_ORDER = tuple(sorted(AXIS_TABLE, key=lambda axis: (axis.added, not axis.sampled)))
#: The axes in the order a run name shows them.
RUN_NAME_ORDER = tuple(sorted(AXIS_TABLE, key=lambda axis: axis.name_rank))


def trial_values(values: dict[str, Any]) -> dict[str, Any]:
    """A configuration's axis values as a trial holds them (other entries pass through).

    Real values become floats, and a depth-0 network (logistic or linear regression) has no hidden
    layer, so its hidden-layer axes collapse to their ``absent`` values.
    """
    hidden = values["depth"] > 0
    held = {}
    for name, value in values.items():
        axis = _BY_NAME.get(name)
        if axis is None:
            held[name] = value
        else:
            held[name] = axis.absent if axis.hidden_layer and not hidden else axis.trial_value(value)
    return held


def builder_values(values: dict[str, Any]) -> dict[str, Any]:
    """A model builder's trial: its training axes' ``values``, fitcheck's model axes at their ``absent`` values."""
    absent = {axis.name: axis.default if axis.absent is None else axis.absent for axis in axes(role=MODEL)}
    return {**absent, **{name: _BY_NAME[name].trial_value(value) if name in _BY_NAME else value
                         for name, value in values.items()}}
