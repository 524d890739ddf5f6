# eval inside an f-string replacement field is code.
# expect: dynamic_code_execution@5

expr = input("> ")
print(f"result: {eval(expr)!r:>20}")
