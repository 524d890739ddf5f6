// maxrss OUT CMD [ARG...]: runs CMD and writes "maxrss_kb=N status=S" to OUT, where N is
// wait4's ru_maxrss: the peak resident set of the largest process in CMD's tree. A
// separate small program because the benchmark's Python launcher starts commands with
// vfork, which would charge the launcher's own memory to the child's peak.
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: maxrss OUT CMD [ARG...]\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    execv(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("wait4");
    return 1;
  }
  FILE* out = fopen(argv[1], "w");
  if (!out) {
    perror(argv[1]);
    return 1;
  }
  fprintf(out, "maxrss_kb=%ld status=%d\n", ru.ru_maxrss, status);
  fclose(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
