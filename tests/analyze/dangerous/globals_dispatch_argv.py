# A function picked by name from the command line out of the script's globals.
# expect: dynamic_import@14 critical

import sys


def backup(path):
    print("backing up", path)


def restore(path):
    print("restoring", path)

globals()[sys.argv[1]](sys.argv[2])
