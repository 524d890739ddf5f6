# Fixed CPU-bound work for the overhead row: pure-Python integer arithmetic, no I/O, no
# allocation growth, so the time is the interpreter's and nothing a sandbox should change.
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
acc = 0
for i in range(n):
    acc = (acc + i * i) % 1_000_003
print(acc)
