# pickle.loads of bytes received on a socket.
# expect: network_access@8
# expect: unsafe_deserialization@11

import pickle
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("10.0.0.5", 9000))
data = s.recv(65536)
job = pickle.loads(data)
job.run()
