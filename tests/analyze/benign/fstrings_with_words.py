name = "eval"
width = 12
items = {"k": "v"}
print(f"{name} is a builtin; so is {'exec'!r}")
print(f"{name:>{width}} | {'os.system'}")
print(f"{items['k']} {{not a field: eval(x)}}")
print(f"""multi-line {name}
   with os.system("x") in text and {len(items)} items""")
print(rf"raw \d+ {name}")
print(f"{'shell=True'}: {width + 1:d}")
