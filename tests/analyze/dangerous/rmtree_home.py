# shutil.rmtree on the home directory.
# expect: recursive_delete@8

import os
import shutil

home = os.path.expanduser("~")
shutil.rmtree(home)
