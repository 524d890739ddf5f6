class Solar:
    """A planetary system, nothing to do with os.system."""

    def system(self, name):
        return {"name": name, "planets": 8}

    def popen(self, door):
        return "opened " + door


s = Solar()
print(s.system("sol"))
print(s.popen("front"))
