import sys

template = "Hello, {name}! You ran {cmd}."
name = sys.argv[1] if len(sys.argv) > 1 else "world"
message = template.format(name=name, cmd="os.system")
parts = ["eval", "exec", "compile"]
print(message, ", ".join(parts), "%s and %s" % ("pickle", "yaml"))
