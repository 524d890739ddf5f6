import functools
import re


class Pattern:
    def __init__(self, text):
        self.text = text

    @functools.lru_cache(maxsize=None)
    def compile(self):
        return re.compile(self.text)

    @property
    def system(self):
        return "regex"

    @staticmethod
    def exec(value):
        return value


p = Pattern("a+")
print(p.compile().match("aaa"), p.system, Pattern.exec(3))
