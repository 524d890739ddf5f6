import sys

command = sys.argv[1] if len(sys.argv) > 1 else "status"
match command.split():
    case ["eval", expr]:
        print("would evaluate", expr)
    case ["system"]:
        print("system info")
    case _:
        print("unknown")
if (n := len(command)) > 3:
    print(n)
