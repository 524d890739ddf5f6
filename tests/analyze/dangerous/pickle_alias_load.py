# pickle imported under another name.
# expect: unsafe_deserialization@8

import pickle as pk
import sys

with open(sys.argv[1], "rb") as f:
    state = pk.load(f)
print(state)
