import re

DANGEROUS = re.compile(r"(eval|exec|os\.system)\(")
for line in ["eval(x)", "print(x)"]:
    if DANGEROUS.search(line):
        print("flagged:", line)
pattern = re.compile("\\bsubprocess\\b")
print(pattern.pattern)
