# Builtins looked up by a computed name reach eval, exec and __import__.
# expect: dynamic_import@8 critical
# expect: dynamic_import@9 critical
# expect: dynamic_import@10 critical

import builtins

fn = __builtins__.__dict__["ev" + suffix]
run = vars(builtins)[name]
getattr(builtins, name)(code)
