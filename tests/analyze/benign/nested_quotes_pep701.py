# Python 3.12 f-strings (PEP 701): the enclosing quote reused inside fields.
songs = ["Take me back to Eden", "Alkaline", "Ascensionism"]
d = {"k": "eval"}
print(f"This is the playlist: {", ".join(songs)}")
print(f"{d["k"]} and {'os.system'} and {"exec"!s}")
print(f"{'\n'.join(songs)}")
