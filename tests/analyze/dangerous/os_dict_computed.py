# A module's own namespace, searched by a computed name.
# expect: dynamic_import@8 critical
# expect: dynamic_import@9 critical

import os

action = os.environ.get("ACTION", "getcwd")
os.__dict__[action]()
getattr(__import__("os"), action)()
