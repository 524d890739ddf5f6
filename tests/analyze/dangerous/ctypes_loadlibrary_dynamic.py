# ctypes reached without an import statement, then a library loaded by name.
# expect: native_code@6 critical
# expect: native_code@7 critical
# expect: native_code@8 critical

ct = __import__("ctypes")
libc = ct.cdll.LoadLibrary("libc.so.6")
libc.system(b"id")
