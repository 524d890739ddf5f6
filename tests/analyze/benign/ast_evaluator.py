"""A tiny arithmetic evaluator built on ast instead of eval()."""
import ast
import operator

OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


class Evaluator(ast.NodeVisitor):
    def visit_BinOp(self, node):
        return OPS[type(node.op)](self.visit(node.left), self.visit(node.right))

    def visit_Constant(self, node):
        return node.value

    def _eval(self, text):
        return self.visit(ast.parse(text, mode="eval").body)


print(Evaluator()._eval("2 * 3 + 4"))
