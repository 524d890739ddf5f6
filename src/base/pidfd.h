// pidfd system calls. glibc 2.36's <sys/pidfd.h> lacks extern "C", so C++ cannot link its
// declarations; these call the kernel directly.
#pragma once

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace hive {

inline int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}
inline int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}
inline int PidfdGetfd(int pidfd, int targetfd) {
  return static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, targetfd, 0));
}

}  // namespace hive
