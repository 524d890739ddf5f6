from hive_run import secure_run

# Simple command execution
result = secure_run("echo 'Hello World'", timeout=10)
print(f"Status: {result.status.value}")
print(f"Output: {result.stdout}")

# Validate command without execution
result = secure_run("potentially_dangerous_command", dry_run=True)
if result.status.value == "dry_run":
    print("Command is safe to execute")
else:
    print(f"Command blocked: {result.error_message}")
