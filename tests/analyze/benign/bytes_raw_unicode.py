data = rb"\x00eval(\x01)"
path = r"C:\new\system32\cmd.exe"
u = u"exec \u00e9t\u00e9"
b = b"os.system('rm -rf /')"
esc = "quote \" eval(x) \" inside"
single = 'it\'s exec(x)'
print(len(data), path, u, b, esc, single)
