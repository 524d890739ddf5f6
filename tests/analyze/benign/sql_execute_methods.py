import sqlite3

conn = sqlite3.connect(":memory:")
cur = conn.cursor()
cur.execute("CREATE TABLE t (cmd TEXT)")
cur.execute("INSERT INTO t VALUES (?)", ("os.system('id')",))
cur.executemany("INSERT INTO t VALUES (?)", [("eval",), ("exec",)])
for row in cur.execute("SELECT cmd FROM t"):
    print(row)
conn.close()
