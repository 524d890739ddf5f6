# rm -rf given as an argument list (no shell, still a recursive delete).
# expect: recursive_delete@8

import subprocess
import sys

target = sys.argv[1]
subprocess.run(["rm", "-rf", target], check=True)
