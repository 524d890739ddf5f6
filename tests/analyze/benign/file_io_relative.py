import csv
import os

os.makedirs("logs", exist_ok=True)
with open("data/input.csv") as src, open("logs/summary.txt", "w") as dst:
    for row in csv.reader(src):
        dst.write(",".join(row) + "\n")
os.remove("logs/old.txt") if os.path.exists("logs/old.txt") else None
