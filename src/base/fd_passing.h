// One descriptor passed along with bytes over a unix socket (SCM_RIGHTS). Neither call
// allocates: the sandbox's child uses them between clone and exec.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace hive {

// sendmsg of `len` bytes with `fd` attached (MSG_NOSIGNAL), retried on EINTR; its result.
ssize_t SendWithFd(int sock, const void* data, size_t len, int fd) noexcept;

// recvmsg of up to `len` bytes, retried on EINTR; its result. *fd gets the descriptor that
// came with them (close-on-exec) or -1.
ssize_t ReceiveWithFd(int sock, void* data, size_t len, int* fd) noexcept;

}  // namespace hive
