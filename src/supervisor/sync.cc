#include "supervisor/sync.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "base/fd_passing.h"

namespace hive::sync {

const char* MsgName(Msg m) {
  switch (m) {
    case Msg::kGo: return "Go";
    case Msg::kSetupFailed: return "SetupFailed";
    case Msg::kReady: return "Ready";
    case Msg::kStart: return "Start";
    case Msg::kExecOk: return "ExecOk";
    case Msg::kExecFailed: return "ExecFailed";
    case Msg::kExited: return "Exited";
    case Msg::kPayloadPidfd: return "PayloadPidfd";
    case Msg::kConsole: return "Console";
  }
  return "?";
}

bool Send(int fd, Msg type, int32_t err, int32_t value, const char* step,
          const char* detail) noexcept {
  Message m;
  m.type = type;
  m.err = err;
  m.value = value;
  if (step) strncpy(m.step, step, sizeof m.step - 1);
  if (detail) strncpy(m.detail, detail, sizeof m.detail - 1);
  ssize_t n;
  do {
    n = send(fd, &m, sizeof m, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof m);
}

bool Receive(int fd, Message* out) noexcept {
  ssize_t n;
  do {
    n = recv(fd, out, sizeof *out, 0);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof *out);
}

bool PeerGone(int fd) noexcept {
  struct pollfd p = {fd, POLLRDHUP, 0};
  int n;
  do {
    n = poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0;
}

namespace {

// What a received message means when `want` was expected.
Status Judge(const Message& m, Msg want) {
  if (m.type == want) return Ok();
  if (m.type == Msg::kSetupFailed) {
    std::string where = m.detail[0] ? fmt::format("{} `{}`", m.step, m.detail)
                                    : std::string(m.step);
    return Status(m.err == EPERM || m.err == EACCES ? Code::kPermissionDenied
                                                    : Code::kFailedPrecondition,
                  fmt::format("{}: {}", where, strerror(m.err)), m.err);
  }
  return Error(Code::kInternal, fmt::format("expected {}, got {}", MsgName(want), MsgName(m.type)));
}

}  // namespace

bool SendFd(int fd, Msg type, int passed_fd) noexcept {
  Message m;
  m.type = type;
  return SendWithFd(fd, &m, sizeof m, passed_fd) == static_cast<ssize_t>(sizeof m);
}

bool Write(int fd, Msg type, int32_t value) noexcept {
  Message m;
  m.type = type;
  m.value = value;
  ssize_t n;
  do {
    n = write(fd, &m, sizeof m);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof m);
}

bool Read(int fd, Message* out) noexcept {
  ssize_t n;
  do {
    n = read(fd, out, sizeof *out);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof *out);
}

Status ExpectFd(int fd, Msg want, Message* out, int* passed) {
  const ssize_t n = ReceiveWithFd(fd, out, sizeof *out, passed);
  if (n != static_cast<ssize_t>(sizeof *out)) {
    return Error(Code::kInternal,
                 fmt::format("expected {}, got nothing: the sandbox died during setup",
                             MsgName(want)));
  }
  if (out->type == want && *passed >= 0) return Ok();
  if (*passed >= 0) close(*passed);
  *passed = -1;
  if (out->type == want) {
    return Error(Code::kInternal, fmt::format("{} came without its descriptor", MsgName(want)));
  }
  return Judge(*out, want);
}

Status Expect(int fd, Msg want, Message* out) {
  if (!Receive(fd, out)) {
    return Error(Code::kInternal,
                 fmt::format("expected {}, got nothing: the sandbox died during setup",
                             MsgName(want)));
  }
  return Judge(*out, want);
}

}  // namespace hive::sync
