def run_task(name, shell=False, eval=None, exec=None):
    return {"name": name, "shell": shell, "eval": eval, "exec": exec}


config = {}
config.update(eval=False, exec=True)
print(run_task("build", shell=True, eval=1), config)
