import yaml

with open("config.yml") as f:
    cfg = yaml.safe_load(f)
with open("other.yml") as f:
    other = yaml.load(f, Loader=yaml.SafeLoader)
with open("third.yml") as f:
    third = yaml.load(f, yaml.CSafeLoader)
print(cfg, other, third)
