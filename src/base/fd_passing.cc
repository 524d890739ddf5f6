#include "base/fd_passing.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace hive {
namespace {

// One iovec and room for one descriptor: the kernel closes any more a peer sends (MSG_CTRUNC).
struct OneFdMessage {
  struct iovec iov;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr mh = {};
  OneFdMessage(void* data, size_t len) : iov{data, len} {
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
  }
};

}  // namespace

ssize_t SendWithFd(int sock, const void* data, size_t len, int fd) noexcept {
  OneFdMessage m(const_cast<void*>(data), len);
  cmsghdr* c = CMSG_FIRSTHDR(&m.mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n;
  do {
    n = sendmsg(sock, &m.mh, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t ReceiveWithFd(int sock, void* data, size_t len, int* fd) noexcept {
  *fd = -1;
  OneFdMessage m(data, len);
  ssize_t n;
  do {
    n = recvmsg(sock, &m.mh, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  for (cmsghdr* c = CMSG_FIRSTHDR(&m.mh); n >= 0 && c != nullptr; c = CMSG_NXTHDR(&m.mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::memcpy(fd, CMSG_DATA(c), sizeof(int));
    }
  }
  return n;
}

}  // namespace hive
