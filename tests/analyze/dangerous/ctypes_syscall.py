# A raw system call through libc, past Python.
# expect: native_code@6 critical
# expect: native_code@8 critical
# expect: native_code@9 critical

import ctypes

libc = ctypes.CDLL(None)
libc.syscall(62, 1, 9)  # kill(1, SIGKILL)
