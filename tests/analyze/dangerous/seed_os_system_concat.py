# Seed example, concatenated: os.system with a command built by string concatenation.
# expect: os_command_execution@8

import os
import sys

filename = sys.argv[1]
os.system("ls -l " + filename + " | wc -l")
