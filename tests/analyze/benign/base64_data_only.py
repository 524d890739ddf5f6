import base64
import hashlib

token = base64.b64encode(b"user:secret-word").decode()
decoded = base64.b64decode(token)
print(decoded.split(b":")[0], hashlib.sha256(decoded).hexdigest())
