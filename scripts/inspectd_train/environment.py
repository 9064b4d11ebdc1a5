import importlib
import sys


def require(prog, modules):
    """Exit 2 with the fix when this Python lacks a module (the python3 first on PATH may have no torch)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            sys.stderr.write(
                f"{prog}: error: cannot import {exc.name!r} with {sys.executable}. "
                "Run with /usr/bin/python3 (Debian's python3-torch, python3-onnx) or set INSPECTD_PYTHON.\n"
            )
            sys.exit(2)
