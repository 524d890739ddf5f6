# cffi: declare a libc function and call it.
# expect: native_code@6 critical
# expect: native_code@10 critical
# expect: native_code@11 critical

import cffi

ffi = cffi.FFI()
ffi.cdef("int system(const char *command);")
libc = ffi.dlopen(None)
libc.system(b"id")
