WARNINGS = [
    "os.system('rm -rf /') deletes everything",
    'eval(input()) runs whatever the user types',
    "subprocess.Popen(cmd, shell=True) is a shell",
    "pickle.loads(untrusted) runs code",
    "open('../../../etc/passwd')",
    "~/.ssh/id_rsa and /etc/shadow are secrets",
]

for w in WARNINGS:
    print("do not:", w)
