# Seed example (developer guide, "Path Traversal", vulnerable version).
# expect: path_traversal@5

filename = "../../../etc/passwd"
with open(filename, 'r') as f:
    content = f.read()
print(content)
