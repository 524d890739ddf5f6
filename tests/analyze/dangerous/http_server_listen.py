# A listening HTTP server.
# expect: network_access@7

import http.server

handler = http.server.SimpleHTTPRequestHandler
server = http.server.HTTPServer(("0.0.0.0", 8000), handler)
server.serve_forever()
