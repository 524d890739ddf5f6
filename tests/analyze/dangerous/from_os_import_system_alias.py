# `from os import system as s`: the alias is os.system.
# expect: os_command_execution@9
# expect: recursive_delete@9

from os import system as s
from os import path as p

target = p.join("/var/cache", "app")
s("rm -rf " + target)
