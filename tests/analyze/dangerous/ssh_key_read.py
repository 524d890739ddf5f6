# Reading a private SSH key.
# expect: credential_access@7

import os

key_path = os.path.expanduser("~/.ssh/id_rsa")
with open(key_path) as f:
    key = f.read()
