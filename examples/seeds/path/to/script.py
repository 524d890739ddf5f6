# A governance-style script for the seeds' examples: tallies votes given on stdin or a
# built-in sample, prints the result.
import collections
import json

votes = ["yes", "no", "yes", "abstain", "yes"]
print(json.dumps(dict(collections.Counter(votes))))
