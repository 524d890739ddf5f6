# Code in a string literal given to exec runs too.
# expect: os_command_execution@4

exec("import os; os.system('id')")
