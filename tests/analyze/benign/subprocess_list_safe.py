"""The seed's secure version: a list of arguments and no shell."""
import subprocess
import sys

filename = input("Enter filename: ")
if not filename.replace(".", "").replace("/", "").isalnum():
    raise ValueError("Invalid filename")

result = subprocess.run(["ls", filename], capture_output=True, text=True)
print(result.stdout)
subprocess.run([sys.executable, "-m", "pip", "--version"], check=True)
subprocess.check_call(["git", "status", "--short"])
