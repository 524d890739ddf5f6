# chmod 0o777 and a setuid bit.
# expect: permission_change@8
# expect: permission_change@9

import os
import stat

os.chmod("/srv/app/run.sh", 0o777)
os.chmod("/srv/app/helper", stat.S_ISUID | stat.S_IRWXU)
