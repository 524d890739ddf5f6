import os
import tempfile

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "result.txt")
    with open(out, "w") as f:
        f.write("exec and eval are words")
    print(os.listdir(tmp))
