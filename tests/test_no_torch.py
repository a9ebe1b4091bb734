"""The runtime package installs and runs without torch."""

import pkgutil
import subprocess
import sys

import rtconvert

BLOCK_TORCH = """
import sys, importlib, pkgutil
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked: the runtime must not need it")
sys.meta_path.insert(0, _NoTorch())
import rtconvert
for module in {modules!r}:
    importlib.import_module(module)
assert "torch" not in sys.modules
"""


def runtime_modules():
    return [f"rtconvert.{m.name}" for m in pkgutil.walk_packages(rtconvert.__path__)]


def test_runtime_imports_without_torch():
    modules = runtime_modules()
    assert "rtconvert.features" in modules
    result = subprocess.run([sys.executable, "-c", BLOCK_TORCH.format(modules=modules)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
