"""Writes a C++ source holding a policy file's text: embed_policy.py IN OUT SYMBOL."""
import sys

src, out, symbol = sys.argv[1:4]
with open(src) as f:
    text = f.read()
if ')hive"' in text:
    sys.exit(f"{src}: contains the raw string's delimiter")
with open(out, "w") as f:
    f.write("// Generated from %s by embed_policy.py; do not edit.\n" % src.split("/")[-1])
    f.write("namespace hive {\nextern const char %s[];\n" % symbol)
    f.write('const char %s[] = R"hive(%s)hive";\n}  // namespace hive\n' % (symbol, text))
