#include "supervisor/sync.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace hive::sync {

const char* MsgName(Msg m) {
  switch (m) {
    case Msg::kGo: return "Go";
    case Msg::kSetupFailed: return "SetupFailed";
    case Msg::kListenerFd: return "ListenerFd";
    case Msg::kListenerTaken: return "ListenerTaken";
    case Msg::kExecOk: return "ExecOk";
    case Msg::kExecFailed: return "ExecFailed";
    case Msg::kExited: return "Exited";
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

Status Expect(int fd, Msg want, Message* out) {
  if (!Receive(fd, out)) {
    return Error(Code::kInternal,
                 fmt::format("expected {}, got nothing: the sandbox died during setup",
                             MsgName(want)));
  }
  if (out->type == want) return Ok();
  if (out->type == Msg::kSetupFailed) {
    std::string where = out->detail[0] ? fmt::format("{} `{}`", out->step, out->detail)
                                       : std::string(out->step);
    return Status(out->err == EPERM || out->err == EACCES ? Code::kPermissionDenied
                                                          : Code::kFailedPrecondition,
                  fmt::format("{}: {}", where, strerror(out->err)), out->err);
  }
  return Error(Code::kInternal,
               fmt::format("expected {}, got {}", MsgName(want), MsgName(out->type)));
}

}  // namespace hive::sync
