from dataclasses import dataclass


@dataclass
class Job:
    name: str
    shell: bool = False
    exec: str = "python3"
    eval: bool = False


job = Job("report")
print(job.exec, job.eval, job.shell)
