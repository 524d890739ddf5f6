// Blocked operations and the sandbox's own /tmp and /dev/shm.
//
// security.filesystem.blocked_operations protects host files bound into the sandbox; the
// sandbox's private /tmp and /dev/shm are its own, and `tempfile.TemporaryDirectory()` or a
// `multiprocessing.Pool` (POSIX semaphores in /dev/shm) must be able to delete what they
// made there. Seccomp cannot read paths, so the delete and rename calls the policy blocks
// reach the supervisor as notifications; this handler resolves the directories they act in,
// inside the caller's own root, and lets the call go on only when every one of them is on the
// private /tmp or /dev/shm filesystem. Anything else is refused (EPERM) and counted.
//
// The call then runs again in the kernel, which re-reads its path: Landlock is what makes
// that safe. Its rules grant removal on /tmp and /dev/shm only, so a path changed between
// this check and the call can still remove nothing of the host. Compile sets
// hive.blocked_operations_spare_private_tmp only where that holds (no writable host path
// mounted beneath /tmp or /dev/shm), and the supervisor installs the handler only when
// Landlock is applied.
//
//   listener.Handle("blocked_operation", PrivateTmpHandler(listener.fd()));
#pragma once

#include "sandbox/seccomp/seccomp.h"

namespace hive::supervisor {

seccomp::Handler PrivateTmpHandler(int listener_fd);

}  // namespace hive::supervisor
