# A function assigned to another name, then called.
# expect: os_command_execution@9

import os
import sys

run = os.system
cmd = sys.argv[1]
run(cmd)
