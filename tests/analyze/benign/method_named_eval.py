# A model with train()/eval() modes, like torch.nn.Module.
class Model:
    def __init__(self):
        self.training = True

    def eval(self):
        self.training = False
        return self

    def exec(self, batch):
        return [x * 2 for x in batch]

    def compile(self, optimizer="sgd"):
        self.optimizer = optimizer


model = Model()
model.eval()
model.compile(optimizer="adam")
print(model.exec([1, 2, 3]))
