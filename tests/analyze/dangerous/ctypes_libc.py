# ctypes calls into libc directly.
# expect: native_code@4 critical
# expect: native_code@7 critical
import ctypes

libc = ctypes.CDLL("libc.so.6")
libc.system(b"id")
