# The interpreter's own C API, called through ctypes.
# expect: native_code@6 critical
# expect: native_code@7 critical
# expect: native_code@9 critical

from ctypes import pythonapi
import ctypes.util

pythonapi.PyRun_SimpleString(b"import os; os.system('id')")
