import ast
import sys

text = sys.argv[1] if len(sys.argv) > 1 else "[1, 2, 3]"
value = ast.literal_eval(text)
print(sum(value))
print(eval("1 + 2"))
