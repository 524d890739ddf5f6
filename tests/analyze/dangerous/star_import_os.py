# `from os import *` brings system into scope.
# expect: os_command_execution@6

from os import *

system("id > /tmp/out")
