# subprocess given one string and no shell.
# expect: subprocess_string_command@6

import subprocess

proc = subprocess.Popen("tar czf backup.tgz data")
proc.wait()
