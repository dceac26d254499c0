"""A small convolutional network for images, as a fitcheck model builder (experiments/digits_cnn.yaml).

``build(hp, input_shape, task, n_outputs)`` follows fitcheck's builder convention: it returns an
uncompiled Keras model whose last layer gives ``n_outputs`` units (softmax probabilities for a
multiclass task); fitcheck compiles it with the trial's loss, optimizer and learning rate.
"""

from __future__ import annotations


def build(hp: dict, input_shape: tuple[int, ...], task: str, n_outputs: int):
    """``hp["depth"]`` conv blocks (3x3 convolution, then 2x2 max pooling) of ``hp["filters"]`` filters,
    doubled per block, then dropout ``hp["dropout"]`` and the output layer.

    >>> build({"filters": 8, "depth": 2, "dropout": 0.2}, (8, 8, 1), "multiclass", 10).output_shape
    (None, 10)
    """
    import keras

    inputs = keras.Input(shape=input_shape)
    x = inputs
    for block in range(int(hp.get("depth", 1))):
        x = keras.layers.Conv2D(int(hp.get("filters", 16)) * 2**block, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    if hp.get("dropout"):
        x = keras.layers.Dropout(float(hp["dropout"]))(x)
    activation = "linear" if task == "regression" else "sigmoid" if n_outputs == 1 else "softmax"
    return keras.Model(inputs, keras.layers.Dense(n_outputs, activation=activation)(x))
