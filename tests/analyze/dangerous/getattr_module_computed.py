# getattr on the os module with a computed attribute name.
# expect: dynamic_import@7 critical

import os

def dispatch(action, arg):
    return getattr(os, action)(arg)


dispatch("remove", "x")
