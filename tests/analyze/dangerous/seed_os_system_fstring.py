# Seed example (developer guide, "Command Injection"): user input in an os.system f-string.
# expect: os_command_execution@7

import os

filename = input("Enter filename: ")
os.system(f"ls {filename}")
