import hashlib
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


def sha256_file(path):
    """Hex SHA-256 of a file, read in 1 MiB blocks (weights provenance)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
