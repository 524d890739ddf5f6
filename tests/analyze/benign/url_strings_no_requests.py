"""Builds URLs and prints them; never opens a connection."""
import urllib.parse

BASE = "https://api.example.com/v1/"
socket_path = "/run/app.sock"
url = urllib.parse.urljoin(BASE, "items?q=" + urllib.parse.quote("requests.get"))
print(url, socket_path)
