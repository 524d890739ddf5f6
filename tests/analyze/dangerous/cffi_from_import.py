# cffi imported by name.
# expect: native_code@4

from cffi import FFI

ffi = FFI()
ffi.cdef("int getpid(void);")
lib = ffi.dlopen(None)
print(lib.getpid())
