# shelve stores values with pickle.
# expect: unsafe_deserialization@6

import shelve

db = shelve.open("/tmp/shared-cache")
print(db.get("config"))
