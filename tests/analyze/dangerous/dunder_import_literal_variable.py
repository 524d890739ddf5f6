# A module name put together from literals is still a literal: judged by what it names.
# expect: os_command_execution@7 high
# expect: subprocess_shell@9 high

name = "o" + "s"
mod = __import__(name)
mod.system("id")
sp = __import__("sub" + "process")
sp.call("ls -l /", shell=True)
