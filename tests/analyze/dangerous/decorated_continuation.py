# A decorator, a backslash continuation and a multi-line call.
# expect: os_command_execution@20
# expect: os_command_execution@25
# expect: recursive_delete@25

import functools
import os


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        print("calling", fn.__name__)
        return fn(*args, **kwargs)
    return wrapper


@logged
def cleanup(directory):
    os.system(
        "find " + directory +
        " -name '*.tmp' -delete")
    cmd = "rm -r " + \
        directory
    status = os.system(cmd)
    return status


cleanup("/var/tmp")
