# Decoded and decompressed code kept in a variable, then executed.
# expect: obfuscated_code@10

import base64 as b
import zlib

DATA = "eJzLzC3ILypRSMsvyssBAB8fBJE="
blob = zlib.decompress(b.b64decode(DATA))
source = blob.decode("utf-8")
exec(source)
