# yaml.load without a safe loader, and with the full Loader.
# expect: unsafe_deserialization@8
# expect: unsafe_deserialization@10

import yaml

with open("config.yml") as f:
    cfg = yaml.load(f)
with open("more.yml") as f:
    more = yaml.load(f, Loader=yaml.Loader)
print(cfg, more)
