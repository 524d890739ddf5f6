"""The seed's secure path handling: resolve, then check containment."""
from pathlib import Path

filename = "../../../etc/passwd"
path = Path("./data") / filename

abs_path = path.resolve()
allowed_path = Path("./data").resolve()

if not abs_path.is_relative_to(allowed_path):
    raise ValueError("Access denied")

with open(abs_path, "r") as f:
    content = f.read()
