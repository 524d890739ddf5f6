// probe: looks at the sandbox from inside and prints what it sees, one `key=value` a line.
// Static, so it runs in any rootfs. Exit 0 when the action succeeded, 1 when it was refused
// (with `error=<errno name>`), 2 on bad usage.
//
//   probe whoami | caps | fds | uidmap | ifaces
//   probe env NAME            probe write PATH        probe exists PATH
//   probe connect IP:PORT     probe spin-setsid       probe sleep SECONDS
//   probe exit CODE           probe kill-self SIGNAL
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

int Refused(const char* what) {
  int err = errno;
  const char* name = strerrorname_np(err);
  printf("error=%s\n", name ? name : "unknown");
  fprintf(stderr, "probe: %s: %s\n", what, strerror(err));
  return 1;
}

int PrintFile(const char* path) {
  FILE* f = fopen(path, "r");
  if (!f) return Refused(path);
  char line[512];
  while (fgets(line, sizeof line, f)) fputs(line, stdout);
  fclose(f);
  return 0;
}

int Whoami() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  printf("pid=%d\nppid=%d\nuid=%d\ngid=%d\neuid=%d\nhostname=%s\n", getpid(), getppid(), getuid(),
         getgid(), geteuid(), host);
  return 0;
}

int Caps() {
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return Refused("/proc/self/status");
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char key[64];
    char value[256];
    if (sscanf(line, "%63[^:]:\t%255s", key, value) == 2 &&
        (!strncmp(key, "Cap", 3) || !strcmp(key, "NoNewPrivs") || !strcmp(key, "Seccomp"))) {
      printf("%s=%s\n", key, value);
    }
  }
  fclose(f);
  return 0;
}

int Fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return Refused("/proc/self/fd");
  int self = dirfd(d);
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == self) continue;
    char target[512] = {};
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (readlink(link, target, sizeof target - 1) < 0) strcpy(target, "?");
    printf("fd=%d %s\n", fd, target);
  }
  closedir(d);
  return 0;
}

int Ifaces() {
  struct if_nameindex* list = if_nameindex();
  if (!list) return Refused("if_nameindex");
  for (struct if_nameindex* i = list; i->if_index != 0; ++i) printf("iface=%s\n", i->if_name);
  if_freenameindex(list);
  return 0;
}

int Write(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Refused(path);
  if (write(fd, "probe\n", 6) != 6) return Refused(path);
  close(fd);
  printf("written=%s\n", path);
  return 0;
}

int Exists(const char* path) {
  struct stat st;
  if (lstat(path, &st) != 0) return Refused(path);
  printf("exists=%s\n", path);
  return 0;
}

int Connect(const char* target) {
  char ip[64] = {};
  int port = 0;
  if (sscanf(target, "%63[^:]:%d", ip, &port) != 2) return 2;
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return Refused("socket");
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) return 2;
  if (connect(s, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    return Refused("connect");
  }
  printf("connected=%s\n", target);
  return 0;
}

// A child that leaves the process group and session and double-forks, then everyone spins:
// what a timeout must still kill.
int SpinSetsid() {
  pid_t p = fork();
  if (p == 0) {
    setsid();
    if (fork() == 0) {
      signal(SIGTERM, SIG_IGN);
      signal(SIGHUP, SIG_IGN);
      for (;;) {
      }
    }
    _exit(0);
  }
  printf("spinning\n");
  fflush(stdout);
  for (;;) pause();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* cmd = argv[1];
  const char* arg = argc > 2 ? argv[2] : nullptr;
  int rc = 2;
  if (!strcmp(cmd, "whoami")) rc = Whoami();
  else if (!strcmp(cmd, "caps")) rc = Caps();
  else if (!strcmp(cmd, "fds")) rc = Fds();
  else if (!strcmp(cmd, "uidmap")) rc = PrintFile("/proc/self/uid_map");
  else if (!strcmp(cmd, "ifaces")) rc = Ifaces();
  else if (!strcmp(cmd, "spin-setsid")) rc = SpinSetsid();
  else if (arg && !strcmp(cmd, "env")) {
    const char* v = getenv(arg);
    if (v) printf("%s=%s\n", arg, v);
    rc = v ? 0 : 1;
  } else if (arg && !strcmp(cmd, "write")) rc = Write(arg);
  else if (arg && !strcmp(cmd, "exists")) rc = Exists(arg);
  else if (arg && !strcmp(cmd, "connect")) rc = Connect(arg);
  else if (arg && !strcmp(cmd, "sleep")) {
    sleep(static_cast<unsigned>(atoi(arg)));
    rc = 0;
  } else if (arg && !strcmp(cmd, "exit")) rc = atoi(arg);
  else if (arg && !strcmp(cmd, "kill-self")) {
    fflush(stdout);
    kill(getpid(), atoi(arg));
    pause();
  }
  fflush(stdout);
  return rc;
}
