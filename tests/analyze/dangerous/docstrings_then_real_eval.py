# Docstrings full of code-like text, then a real eval on a computed string.
# expect: dynamic_code_execution@9

'''Module docstring: eval(input()) and os.system("x") are only words here.'''


def compute(a, b, op):
    """Returns a op b. Uses eval('a + b') style evaluation."""
    return eval(str(a) + op + str(b))


print(compute(1, 2, "+"))
