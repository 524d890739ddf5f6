import os
import sys

UPLOADS = "/srv/uploads"
name = os.path.basename(sys.argv[1])
target = os.path.join(UPLOADS, name)
with open(target, "rb") as f:
    print(f.read(16))
