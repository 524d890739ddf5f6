"""Which Python runs the tests that need Debian's python3-grpcio and python3-protobuf.

meson runs each test with the `python3` it finds on PATH, which need not be Debian's (a
developer's pyenv, a virtualenv) and then has no grpc. A test that needs those modules calls
`reexec_if_missing()` first thing: when its interpreter lacks them and /usr/bin/python3 is a
different interpreter, the test is re-executed, same arguments and environment, by
/usr/bin/python3; the call does not return then. Otherwise it returns the modules still
missing, and the test skips (exit 77) naming the package to install.
"""
import importlib.util
import os
import sys

SYSTEM_PYTHON = "/usr/bin/python3"
GRPC_MODULES = {"grpc": "python3-grpcio", "grpc_tools": "python3-grpc-tools",
                "google.protobuf": "python3-protobuf"}
_GUARD = "HIVE_OCI_REEXECUTED"


def missing(modules=GRPC_MODULES):
    """The Debian packages whose modules this interpreter cannot import."""
    out = []
    for name, package in modules.items():
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:  # the parent package ("google") is missing
            found = False
        if not found:
            out.append(package)
    return out


def _same_interpreter(path):
    try:
        return os.path.samefile(os.path.realpath(sys.executable), os.path.realpath(path))
    except OSError:
        return False


def reexec_if_missing(modules=GRPC_MODULES):
    lacking = missing(modules)
    if (not lacking or os.environ.get(_GUARD) or not os.access(SYSTEM_PYTHON, os.X_OK)
            or _same_interpreter(SYSTEM_PYTHON)):
        return lacking
    # orig_argv keeps `-m unittest ...` and interpreter flags; argv[0] alone would lose them.
    args = list(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))[1:]
    env = dict(os.environ)
    env[_GUARD] = "1"
    print(f"{sys.executable} lacks {', '.join(lacking)}: re-executing with {SYSTEM_PYTHON}",
          file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(SYSTEM_PYTHON, [SYSTEM_PYTHON, *args], env)
