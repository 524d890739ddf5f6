# Seed example ("Avoid Dangerous Operations"): os.system("rm -rf /").
# expect: os_command_execution@6
# expect: recursive_delete@6

import os
os.system("rm -rf /")  # Dangerous!
