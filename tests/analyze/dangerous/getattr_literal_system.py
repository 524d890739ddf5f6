# getattr with a literal name still reaches os.system.
# expect: os_command_execution@8
# expect: os_command_execution@9

import os

runner = getattr(os, "system")
runner("id")
getattr(os, "popen")("uname -a").read()
