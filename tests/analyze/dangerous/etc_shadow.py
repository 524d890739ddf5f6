# Reading /etc/shadow.
# expect: credential_access@5

def hashes():
    with open("/etc/shadow") as f:
        return [line.split(":")[1] for line in f]


print(hashes())
