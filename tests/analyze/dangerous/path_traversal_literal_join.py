# A literal climbing path joined onto a base.
# expect: path_traversal@7

import os

base = "/srv/app/static"
path = os.path.join(base, "../../../../etc/hosts")
print(open(path).read())
