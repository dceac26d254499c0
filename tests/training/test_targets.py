"""The output head per task and loss: units, activation, target encoding and decoding."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.search import LOSSES_BY_TASK, TrialConfig
from pipeline.names import BINARY, MULTICLASS, REGRESSION, TASKS
from pipeline.training import OutputHead, head_of, output_head

N_CLASSES = {BINARY: 2, MULTICLASS: 3, REGRESSION: 1}
LABELS = {BINARY: np.array([0, 1, 1, 0]), MULTICLASS: np.array([2, 0, 1, 1]),
          REGRESSION: np.array([0.5, -1.25, 3.0, 0.0])}
SIGMOID_01 = (1, "sigmoid", "binary01", [[0.0], [1.0], [1.0], [0.0]])
SIGNED = (1, "linear", "signed", [[-1.0], [1.0], [1.0], [-1.0]])
ONE_HOT_2 = (2, "softmax", "one_hot", [[1, 0], [0, 1], [0, 1], [1, 0]])
ONE_HOT_3 = (3, "softmax", "one_hot", [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 1, 0]])
VALUE = (1, "linear", "value", [[0.5], [-1.25], [3.0], [0.0]])
#: (task, loss) -> (units, activation, encoding, encoded LABELS[task]); every pair the grid allows
EXPECTED = {
    (BINARY, "binary_crossentropy"): SIGMOID_01,
    (BINARY, "categorical_crossentropy"): ONE_HOT_2,
    (BINARY, "sparse_categorical_crossentropy"): (2, "softmax", "index", [0, 1, 1, 0]),
    (BINARY, "hinge"): SIGNED,
    (BINARY, "squared_hinge"): SIGNED,
    (BINARY, "mse"): SIGMOID_01,
    (BINARY, "mae"): SIGMOID_01,
    (BINARY, "huber"): SIGMOID_01,
    (MULTICLASS, "categorical_crossentropy"): ONE_HOT_3,
    (MULTICLASS, "sparse_categorical_crossentropy"): (3, "softmax", "index", [2, 0, 1, 1]),
    (MULTICLASS, "mse"): ONE_HOT_3,
    (MULTICLASS, "mae"): ONE_HOT_3,
    (MULTICLASS, "huber"): ONE_HOT_3,
    (REGRESSION, "mse"): VALUE,
    (REGRESSION, "mae"): VALUE,
    (REGRESSION, "huber"): VALUE,
}
#: Model outputs for LABELS[task] and what each head reads from them: probabilities around 0.5,
#: margins around 0 (exactly on the threshold counts as class 0), softmax rows by argmax.
OUTPUTS = {
    "sigmoid": ([[0.2], [0.7], [0.5], [0.51]], [0, 1, 0, 1]),
    "linear": ([[-0.1], [0.3], [0.0], [2.0]], [0, 1, 0, 1]),
    2: ([[0.6, 0.4], [0.1, 0.9], [0.7, 0.3], [0.2, 0.8]], [0, 1, 0, 1]),
    3: ([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4]], [2, 0, 1, 2]),
}


def test_every_grid_pair_has_an_expected_head():
    assert set(EXPECTED) == {(task, loss) for task in TASKS for loss in LOSSES_BY_TASK[task]}


@pytest.mark.parametrize(("task", "loss"), sorted(EXPECTED))
def test_head_encodes_and_reads_back_labels(task, loss):
    units, activation, encoding, encoded = EXPECTED[task, loss]
    head = output_head(task, loss, N_CLASSES[task])
    assert head == OutputHead(task, units, activation, encoding)
    targets = head.encode(LABELS[task])
    np.testing.assert_array_equal(targets, np.array(encoded))
    assert targets.dtype == (np.int64 if encoding == "index" else np.float32)
    labels = head.labels(targets)
    np.testing.assert_array_equal(labels, LABELS[task])
    assert labels.dtype == (np.float64 if task == REGRESSION else np.int64)


@pytest.mark.parametrize(("task", "loss"), sorted(EXPECTED))
def test_head_decodes_outputs_by_threshold_or_argmax(task, loss):
    head = output_head(task, loss, N_CLASSES[task])
    if task == REGRESSION:
        outputs, expected = [[1.5], [-2.0], [0.0], [7.25]], [1.5, -2.0, 0.0, 7.25]
    else:
        outputs, expected = OUTPUTS[head.units if head.units > 1 else head.activation]
    decoded = head.decode(np.array(outputs))
    np.testing.assert_array_equal(decoded, expected)
    assert decoded.shape == (4,)


@pytest.mark.parametrize(("task", "loss"), sorted(EXPECTED))
def test_keras_builds_the_head_and_its_loss_takes_the_encoded_targets(task, loss):
    keras = pytest.importorskip("keras")
    from pipeline.training import build_model

    head = output_head(task, loss, N_CLASSES[task])
    config = TrialConfig(depth=1, width=4, activation="relu", loss=loss, optimizer="adam", learning_rate=0.01,
                         batch_size=4, epochs=1, seed=0)
    model = build_model(config, input_shape=(3,), head=head)
    last = model.layers[-1]
    assert (last.units, last.activation.__name__) == (head.units, head.activation)
    outputs = model(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32), training=False)
    per_sample = np.asarray(keras.losses.get(loss)(head.encode(LABELS[task]), outputs))
    assert per_sample.shape == (4,) and np.all(np.isfinite(per_sample))
    assert head.decode(np.asarray(outputs)).shape == (4,)


@pytest.mark.parametrize(("task", "targets", "units", "options", "expected"), [
    (REGRESSION, [[0.5], [1.5]], 1, {}, (1, "linear", "value")),
    (BINARY, [0, 1], 1, {"loss": "binary_crossentropy"}, (1, "sigmoid", "binary01")),
    (BINARY, [0, 1], 1, {"loss": "binary_crossentropy", "from_logits": True}, (1, "linear", "binary01")),
    (BINARY, [0, 1], 1, {"loss": "hinge"}, (1, "linear", "binary01")),
    (BINARY, [-1, 1], 1, {"loss": "mse"}, (1, "linear", "signed")),
    (BINARY, [0, 1], 2, {"loss": "sparse_categorical_crossentropy"}, (2, "softmax", "index")),
    (MULTICLASS, [[0, 0, 1], [1, 0, 0]], 3, {}, (3, "softmax", "one_hot")),
    (MULTICLASS, [2, 0], 3, {"from_logits": True}, (3, "linear", "index")),
])
def test_head_of_reads_a_users_output_convention(task, targets, units, options, expected):
    assert head_of(task, np.array(targets), units=units, **options) == OutputHead(task, *expected)


@pytest.mark.parametrize(("task", "units", "message"), [
    (REGRESSION, 2, "a regression model must have 1 output unit but got 2."),
    (MULTICLASS, 1, "a multiclass model must have one output unit per class but got 1."),
    ("ranking", 1, "task must be one of binary, multiclass, regression but got 'ranking'."),
])
def test_head_of_refuses_a_model_that_cannot_fit_the_task(task, units, message):
    with pytest.raises(ValueError) as caught:
        head_of(task, np.array([0, 1]), units=units)
    assert str(caught.value) == message
