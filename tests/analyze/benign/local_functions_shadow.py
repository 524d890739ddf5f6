"""A script that defines its own system() and eval() helpers."""
from os import system


def system(message):
    print("[system]", message)


def eval(expression):
    return sum(int(x) for x in expression.split("+"))


system("starting")
print(eval(input("sum> ")))
