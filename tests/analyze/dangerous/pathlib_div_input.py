# pathlib `/` join of user input, then read.
# expect: path_traversal@9

from pathlib import Path

root = Path("/srv/reports")
name = input("report name: ")
report = root / name
print(report.read_text())
