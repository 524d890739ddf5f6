import os
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
CONFIG = Path(__file__).resolve().parent.parent / "config" / "app.ini"
TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "templates")
print(DATA, CONFIG, TEMPLATES)
with open(os.path.join(DATA, "input.csv")) as f:
    print(f.readline())
