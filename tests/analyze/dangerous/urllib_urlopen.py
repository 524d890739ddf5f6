# urllib.request imported by name.
# expect: network_access@6

from urllib.request import urlopen

with urlopen("http://example.org/data.json") as resp:
    body = resp.read()
print(len(body))
