# `import subprocess as sp` with shell=True and a computed command.
# expect: subprocess_shell@9

import subprocess as sp
import sys

pattern = sys.argv[1]
cmd = "grep -r '%s' /srv/logs" % pattern
out = sp.run(cmd, shell=True, capture_output=True)
print(out.stdout)
