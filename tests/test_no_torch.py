"""The runtime package installs and runs without torch."""

import pkgutil
import subprocess
import sys

from helpers import BLOCK_TORCH

import rtconvert

IMPORT_ALL = BLOCK_TORCH + """
import importlib
import rtconvert
for module in {modules!r}:
    importlib.import_module(module)
assert "torch" not in sys.modules
"""


def runtime_modules():
    return [m.name for m in pkgutil.walk_packages(rtconvert.__path__, "rtconvert.")]


def test_runtime_imports_without_torch():
    modules = runtime_modules()
    assert "rtconvert.dsp.features" in modules
    result = subprocess.run([sys.executable, "-c", IMPORT_ALL.format(modules=modules)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_public_api_is_what_the_package_docstring_shows():
    import rtconvert

    for name in rtconvert.__all__:
        assert getattr(rtconvert, name) is not None, name
    assert set(rtconvert.__all__) - {"__version__"} == set(rtconvert._API)
    for name in ("load_bundle", "Engine", "convert_file", "LiveStream"):
        assert f"rtconvert.{name}" in rtconvert.__doc__, name
