// hive::console: a container's terminal (OCI process.terminal) and the console socket it is
// handed to.
//
// The pty comes from the container's own devpts instance (rootfs.cc mounts /dev/pts with
// `newinstance`), so the process sees /dev/pts/0 and nothing of the host's terminals. Its
// master belongs to the engine: conmon and the containerd shim listen on an AF_UNIX socket
// (`--console-socket`) and expect one message carrying it (SCM_RIGHTS).
//
// The two halves, as with every kernel module here:
//
//   in the container, after its /dev/pts exists and before Landlock and seccomp:
//     int master, slave;
//     if (int r = console::OpenPty(uid, gid, rows, cols, &master, &slave); r < 0) fail(-r);
//     ... hand `master` to the runtime (the sync socket), close it ...
//     in the process that is to own the terminal (not a process group leader):
//     if (int r = console::AttachTerminal(slave); r < 0) fail(-r);
//
//   in the runtime, on the host (where the socket's path means something):
//     HIVE_TRY(console::CheckRequest(terminal, socket_path, "process.terminal"));
//     HIVE_TRY(console::SendMaster(socket_path, master_fd));
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <string>

#include "hive/status.h"

namespace hive::console {

// What the console socket's message says besides the descriptor; runc sends the same.
inline constexpr const char* kMasterName = "/dev/ptmx";

// --- in the container: no allocation, errors as -errno ---

// Opens a new pty in the devpts mounted at /dev/pts of the caller's mount namespace:
// *master and *slave, both close-on-exec, neither becoming the caller's controlling terminal.
// The slave is given to uid:gid (ids of the caller's user namespace), who will run on it;
// rows and cols (process.consoleSize) are its window size when both are set (non-zero).
int OpenPty(uid_t uid, gid_t gid, uint16_t rows, uint16_t cols, int* master,
            int* slave) noexcept;

// Makes `slave` the caller's controlling terminal and its stdin, stdout and stderr: a new
// session (the caller must not lead a process group), TIOCSCTTY, then dup2 onto 0-2. `slave`
// itself is closed unless it is one of 0-2.
int AttachTerminal(int slave) noexcept;

// Points the caller's stdin, stdout and stderr at /dev/null. A process of the container that
// is not on the terminal (hive's pid 1) must not keep the stdio it got from `create`: the
// containerd shim reads create's output through a pipe until EOF before it takes the master.
int ReleaseStdio() noexcept;

// --- in the runtime ---

// The refusals runc makes: a terminal with nowhere to send it, or a socket with no terminal to
// send. `terminal_field` names the request in the message ("process.terminal", "--tty").
Status CheckRequest(bool terminal, const std::string& socket_path,
                    const std::string& terminal_field);

// Connects to the AF_UNIX stream socket at `socket_path` (any length: reached through its
// directory) and sends one message: kMasterName, with `master` attached. The caller keeps
// `master` and closes it.
Status SendMaster(const std::string& socket_path, int master);

}  // namespace hive::console
