# AWS credentials through pathlib joins.
# expect: credential_access@7

from pathlib import Path

creds = Path.home() / ".aws" / "credentials"
text = creds.read_text()
print(text.splitlines()[1])
