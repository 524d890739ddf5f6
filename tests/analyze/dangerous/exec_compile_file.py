# compile() of source read from a file, then exec of the code object.
# expect: dynamic_code_execution@8

import sys

with open(sys.argv[1]) as f:
    src = f.read()
code = compile(src, "<plugin>", "exec")
exec(code)
