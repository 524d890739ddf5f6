# ctypes calls into libc directly.
# expect: native_code@4

import ctypes

libc = ctypes.CDLL("libc.so.6")
libc.system(b"id")
