TABLE = {
    "eval": "evaluate",   # words as keys
    "system": \
        "the os.system function",
    "exec": ("execute"
             " statements"),
}
total = 1 + \
    2 + \
    3
print(TABLE, total)
