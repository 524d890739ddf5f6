import argparse

parser = argparse.ArgumentParser(
    description="Runs nothing. Mentions os.system and eval() only in help text.",
    epilog="Using shell=True or exec() would be dangerous.",
)
parser.add_argument("--shell", action="store_true", help="pretend shell=True")
parser.add_argument("--eval", dest="do_eval", help="name of an eval dataset")
args = parser.parse_args()
print(args.shell, args.do_eval)
