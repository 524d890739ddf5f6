# os.spawnlp starts another program.
# expect: os_command_execution@6

import os

os.spawnlp(os.P_WAIT, "curl", "curl", "-o", "/tmp/x", "http://example.com/x")
