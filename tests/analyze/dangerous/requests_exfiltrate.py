# HTTP client under an alias, sending data out.
# expect: network_access@8

import requests as r
import socket

payload = {"host": socket.gethostname()}
r.post("https://collector.example.net/ingest", json=payload, timeout=5)
