# Seed example: eval of input.
# expect: dynamic_code_execution@6

def calculator():
    expression = input("expression> ")
    result = eval(expression)
    print("=", result)


calculator()
