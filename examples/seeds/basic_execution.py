from hive_run import SecureScriptExecutor

# Initialize executor
executor = SecureScriptExecutor()

# Execute a script
result = executor.execute_script("path/to/script.py")

# Check results
if result['success']:
    print("Script executed successfully")
    print("Output:", result['stdout'])
else:
    print("Script execution failed")
    print("Error:", result['stderr'])

# Get security monitoring statistics
stats = executor.get_security_stats()

print("Monitoring Stats:")
print(f"  Total executions: {stats['monitoring_stats']['total_executions']}")
print(f"  Security violations: {stats['monitoring_stats']['security_violations']}")

print("Recent Alerts:")
for alert in stats['recent_alerts'][:3]:
    print(f"  - {alert['type']}: {alert['message']}")
