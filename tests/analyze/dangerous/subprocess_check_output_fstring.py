# check_output with an f-string command and shell=True, input from argv.
# expect: subprocess_shell@8

from subprocess import check_output
import sys

host = sys.argv[1]
print(check_output(
    f"ping -c 1 {host}",  # the host comes straight from the command line
    shell=True,
))
