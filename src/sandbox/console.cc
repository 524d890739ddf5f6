#include "sandbox/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/fd_passing.h"
#include "base/unique_fd.h"

namespace hive::console {

int OpenPty(uid_t uid, gid_t gid, uint16_t rows, uint16_t cols, int* master,
            int* slave) noexcept {
  // The devpts instance's own ptmx, not /dev/ptmx: that is a symlink the image could have
  // shadowed, and a host's /dev/ptmx would hand out the host's terminals.
  const int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return -errno;
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) != 0) {
    const int e = errno;
    close(m);
    return -e;
  }
  // The peer through the master itself (Linux 4.13+): no path to resolve, nothing to race.
  const int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    const int e = errno;
    close(m);
    return -e;
  }
  // The slave is created owned by the opener (the namespace's root); the process that runs on
  // it may be another user, who must be able to reopen /dev/tty and change its modes.
  if (fchown(s, uid, gid) != 0) {
    const int e = errno;
    close(s);
    close(m);
    return -e;
  }
  // The size the engine asked for is there before the program first looks (runc sets it too).
  if (rows != 0 && cols != 0) {
    struct winsize ws = {};
    ws.ws_row = rows;
    ws.ws_col = cols;
    if (ioctl(m, TIOCSWINSZ, &ws) != 0) {
      const int e = errno;
      close(s);
      close(m);
      return -e;
    }
  }
  *master = m;
  *slave = s;
  return 0;
}

int AttachTerminal(int slave) noexcept {
  // A terminal can be the controlling terminal of one session only, acquired by its leader.
  if (setsid() < 0) return -errno;
  if (ioctl(slave, TIOCSCTTY, 0) != 0) return -errno;
  for (int i = 0; i < 3; ++i) {
    if (dup2(slave, i) < 0) return -errno;
  }
  if (slave > 2) close(slave);
  return 0;
}

int ReleaseStdio() noexcept {
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return -errno;
  for (int i = 0; i < 3; ++i) {
    if (dup2(null, i) < 0) {
      const int e = errno;
      close(null);
      return -e;
    }
  }
  if (null > 2) close(null);
  return 0;
}

Status CheckRequest(bool terminal, const std::string& socket_path,
                    const std::string& terminal_field) {
  if (terminal && socket_path.empty()) {
    return Error(Code::kInvalidArgument,
                 fmt::format("{}: a terminal needs --console-socket: hive-run sends the pty's "
                             "master to the engine's console socket and does not relay a "
                             "terminal itself",
                             terminal_field));
  }
  if (!terminal && !socket_path.empty()) {
    return Error(Code::kInvalidArgument,
                 fmt::format("--console-socket `{}`: {} is false: there is no terminal to send",
                             socket_path, terminal_field));
  }
  return Ok();
}

Status SendMaster(const std::string& socket_path, int master) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  UniqueFd dir;
  if (socket_path.size() < sizeof addr.sun_path) {
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  } else {
    // Longer than a socket address may be: reached through its directory's descriptor.
    const size_t slash = socket_path.rfind('/');
    const std::string parent = slash == std::string::npos ? "." : socket_path.substr(0, slash + 1);
    const std::string name = slash == std::string::npos ? socket_path : socket_path.substr(slash + 1);
    dir.Reset(open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return Errno(fmt::format("--console-socket: open `{}`", parent));
    const std::string via = fmt::format("/proc/self/fd/{}/{}", dir.get(), name);
    if (via.size() >= sizeof addr.sun_path) {
      return Error(Code::kInvalidArgument,
                   fmt::format("--console-socket `{}`: the socket's name is too long", socket_path));
    }
    std::memcpy(addr.sun_path, via.c_str(), via.size());
  }
  UniqueFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Errno("socket");
  int r;
  do {
    r = connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (r != 0 && errno == EINTR);
  if (r != 0) return Errno(fmt::format("--console-socket: connect to `{}`", socket_path));

  char name[32] = {};
  std::strncpy(name, kMasterName, sizeof name - 1);
  if (SendWithFd(s.get(), name, std::strlen(name), master) < 0) return Errno(fmt::format("--console-socket: send the terminal to `{}`", socket_path));
  return Ok();
}

}  // namespace hive::console
