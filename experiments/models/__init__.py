"""Model builders for the example specs (``model: models.cnn:build``, resolved from experiments/)."""
