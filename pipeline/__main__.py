"""``python -m pipeline`` is the ``fitcheck`` command."""

from pipeline.cli import main

main(prog_name="fitcheck")
