// A syscall-heavy loop for the seccomp row: every iteration makes three cheap system
// calls (getppid, stat, read from /dev/zero), so a filter's per-call cost dominates.
// Only the loop is timed, not process start. Prints one line:
//   iterations=N ns=T seccomp=MODE filters=K
// where MODE and K come from /proc/self/status (0 = no filter, 2 = filter).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void SeccompStatus(int* mode, int* filters) {
  char line[256];
  FILE* f = fopen("/proc/self/status", "r");
  *mode = *filters = -1;
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "Seccomp:", 8) == 0) *mode = atoi(line + 8);
    if (strncmp(line, "Seccomp_filters:", 16) == 0) *filters = atoi(line + 16);
  }
  fclose(f);
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("open /dev/zero");
    return 1;
  }
  char buf[64];
  struct stat st;
  long long t0 = NowNs();
  for (long i = 0; i < n; i++) {
    getppid();
    if (stat("/", &st) != 0 || read(fd, buf, sizeof buf) != sizeof buf) {
      perror("syscall loop");
      return 1;
    }
  }
  long long t1 = NowNs();
  int mode, filters;
  SeccompStatus(&mode, &filters);
  printf("iterations=%ld ns=%lld seccomp=%d filters=%d\n", n, t1 - t0, mode, filters);
  return 0;
}
