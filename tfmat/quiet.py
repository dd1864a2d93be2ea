"""Silence TensorFlow's start-up chatter on the command line.

TensorFlow's C++ libraries write to file descriptor 2 while they load (absl's
"before InitializeLog" notice, the CUDA stub, ``cuInit`` failures on a
machine without a GPU); ``TF_CPP_MIN_LOG_LEVEL`` does not reach all of them.
:func:`silence_tensorflow` sets that level and arranges that the first
``import tensorflow`` (and the device discovery right after it) runs with
descriptor 2 pointed at ``/dev/null``. Nothing is imported until something
asks for TensorFlow, so commands that do not need it start as fast as before.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            self.loader.exec_module(module)
            module.config.list_physical_devices()  # device discovery logs too (cuInit)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
        module.get_logger().setLevel("ERROR")
        try:
            from absl import logging as absl_logging
            absl_logging.set_verbosity(absl_logging.ERROR)
        except ImportError:  # pragma: no cover  (absl comes with tensorflow)
            pass


class _QuietFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def silence_tensorflow() -> None:
    """Quiet TensorFlow's C++ and absl logging for the rest of the process (see the module docstring)."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if "tensorflow" in sys.modules:
        return
    if not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
