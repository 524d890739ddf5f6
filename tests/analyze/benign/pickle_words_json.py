import json

FORMATS = {"pickle": "binary", "marshal": "internal", "json": "text", "shelve": "dbm"}


def load_pickle_config(path):
    """Despite the name, this reads JSON; pickle.load would be unsafe."""
    with open(path) as f:
        return json.load(f)


print(FORMATS["pickle"])
