# os.popen and os.execvp.
# expect: os_command_execution@8
# expect: os_command_execution@10

import os
import sys

listing = os.popen("ls -la " + sys.argv[1]).read()
print(listing)
os.execvp("sh", ["sh", "-c", sys.argv[2]])
