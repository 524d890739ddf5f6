# getattr with literal names on modules loaded by __import__ and sys.modules.
# expect: os_command_execution@7 high
# expect: os_command_execution@8 high

import sys

getattr(__import__("os"), "system")("id")
sys.modules["os"].system("uname -a")
