# cffi imported by name.
# expect: native_code@4 critical
# expect: native_code@8 critical
from cffi import FFI

ffi = FFI()
ffi.cdef("int getpid(void);")
lib = ffi.dlopen(None)
print(lib.getpid())
