"""Report generator.

Never call eval(input()) or os.system("rm -rf " + path) in scripts like this one;
pickle.loads(data) and yaml.load(f) are just as bad. subprocess.run(cmd, shell=True) too.
"""
import csv
import sys


def summarize(path):
    """Summarize a CSV file. Does not exec() anything, does not import ctypes."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return len(rows)


if __name__ == "__main__":
    print(summarize(sys.argv[1]))
