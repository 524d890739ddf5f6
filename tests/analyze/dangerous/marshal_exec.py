# marshal.loads of a code object, then exec.
# expect: unsafe_deserialization@9
# expect: obfuscated_code@10

import marshal

with open("cache.bin", "rb") as f:
    raw = f.read()
code = marshal.loads(raw)
exec(code)
