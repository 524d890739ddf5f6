# Giving files to root.
# expect: permission_change@8
# expect: permission_change@9

import os
import shutil

os.chown("/srv/app/data", 0, 0)
shutil.chown("/srv/app/log", user="root")
