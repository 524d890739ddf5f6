// The parent/child sync protocol: fixed-size messages over a SOCK_SEQPACKET socketpair.
//
//   sync 1 (parent → child)  kGo            maps written, cgroup joined, trees idmapped
//   sync 2 (child → parent)  kSetupFailed   a setup step failed: {step, detail, err}
//   sync 2b(child → parent)  kConsole       process.terminal: the pty's master (SCM_RIGHTS),
//                                           opened in the sandbox's devpts once it exists
//   sync 3 (child → parent)  kPayloadPidfd  the payload's pidfd (SCM_RIGHTS), sent before its
//                                           seccomp filter is on
//   sync 3b(child → parent)  kReady         set up, blocked before execve: {value = the
//                                           listener's fd number in the payload, or -1}; the
//                                           parent takes it with pidfd_getfd
//   sync 4 (parent → child)  kStart         the parent holds the listener; exec may proceed
//   sync 5 (child → parent)  kExecOk / kExecFailed {err}
//   sync 6 (child → parent)  kExited {value = wait status of the payload}
#pragma once

#include <cstdint>
#include <cstring>

#include "hive/status.h"

namespace hive::sync {

enum class Msg : uint32_t {
  kGo = 1,
  kSetupFailed,
  kReady,
  kStart,
  kExecOk,
  kExecFailed,
  kExited,
  kPayloadPidfd,
  kConsole,
};

const char* MsgName(Msg m);

struct Message {
  Msg type = Msg::kGo;
  int32_t err = 0;
  int32_t value = 0;
  char step[64] = {};
  char detail[256] = {};
};

// Child side: async-signal-safe.
bool Send(int fd, Msg type, int32_t err = 0, int32_t value = 0, const char* step = nullptr,
          const char* detail = nullptr) noexcept;
// Returns false on EOF or error.
bool Receive(int fd, Message* out) noexcept;
// True when the other end of the socket is closed (its process died); does not block.
bool PeerGone(int fd) noexcept;

// Child side: a message carrying one descriptor (SCM_RIGHTS).
bool SendFd(int fd, Msg type, int passed_fd) noexcept;
// Child side, once its seccomp filter is on: read(2) and write(2) only, which every profile
// must allow (a denied call would wait for a listener the parent does not hold yet).
bool Write(int fd, Msg type, int32_t value) noexcept;
bool Read(int fd, Message* out) noexcept;

// Parent side: "expected kGo, got kSetupFailed(mount /proc: EPERM)".
Status Expect(int fd, Msg want, Message* out);
// The same for a message carrying a descriptor, which lands in *passed (close-on-exec).
Status ExpectFd(int fd, Msg want, Message* out, int* passed);

}  // namespace hive::sync
