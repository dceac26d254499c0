"""A spec's ``model: module:function``: only the named module runs, installed packages are never shadowed,
and ``sys.path`` is left as it was."""

from __future__ import annotations

import sys

import pytest

from pipeline.errors import FitcheckError
from pipeline.training import resolve_builder

SHADOW = "import pathlib; pathlib.Path(__file__).with_name('ran.txt').write_text('ran')\n"


@pytest.fixture
def spec_folder(tmp_path, monkeypatch):
    """A spec folder with a builder module, its helper, and a file named like an installed package."""
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "tqdm.py").write_text(SHADOW)  # named like a dependency fitcheck itself imports
    (folder / "yaml.py").write_text(SHADOW)
    (folder / "helpers_for_test.py").write_text("UNITS = 7\n")
    (folder / "builder_for_test.py").write_text(
        "import tqdm\nfrom helpers_for_test import UNITS\n\ndef build(hp, input_shape, task, n_outputs):\n"
        "    return UNITS\n")
    monkeypatch.chdir(tmp_path)  # the working folder is searched too
    yield folder
    for name in ("builder_for_test", "helpers_for_test"):
        sys.modules.pop(name, None)


def test_the_named_module_is_imported_with_its_helpers_and_nothing_is_shadowed(spec_folder, monkeypatch):
    monkeypatch.delitem(sys.modules, "tqdm", raising=False)  # so that `import tqdm` is resolved afresh
    before = list(sys.path)
    build = resolve_builder("builder_for_test:build", folder=spec_folder, source="s.yaml")
    assert build({}, (2,), "binary", 1) == 7
    assert not (spec_folder / "ran.txt").exists()  # its `import tqdm` found the installed tqdm
    assert "site-packages" in sys.modules["tqdm"].__file__
    assert sys.path == before


@pytest.mark.parametrize("module", ["tqdm", "yaml"])
def test_a_module_named_like_an_installed_package_is_refused(spec_folder, module):
    before = list(sys.path)
    with pytest.raises(FitcheckError) as refused:
        resolve_builder(f"{module}:build", folder=spec_folder, source="s.yaml")
    message = str(refused.value)
    assert message.startswith(f"s.yaml: model: module '{module}' ({spec_folder / (module + '.py')}) has the name of "
                              "an installed package (")
    assert message.endswith("); rename the file so that it cannot shadow it")
    assert not (spec_folder / "ran.txt").exists() and sys.path == before


def test_sys_path_is_restored_when_the_import_fails(spec_folder):
    (spec_folder / "broken_for_test.py").write_text("raise RuntimeError('boom')\n")
    before = list(sys.path)
    with pytest.raises(FitcheckError, match=r"cannot import module 'broken_for_test' \(RuntimeError: boom\)"):
        resolve_builder("broken_for_test:build", folder=spec_folder, source="s.yaml")
    assert sys.path == before
