// The child's side of a run: everything it needs, prepared by the parent before clone3 so the
// child only makes system calls.
#pragma once

#include <string>
#include <vector>

#include "hive/run_spec.h"
#include "sandbox/capabilities.h"
#include "sandbox/landlock/landlock.h"
#include "sandbox/rootfs.h"
#include "sandbox/seccomp/oci_profile.h"
#include "sandbox/seccomp/seccomp.h"
#include "sandbox/sysctl.h"

namespace hive {

struct ChildContext {
  int sync_fd = -1;
  const char* hostname = nullptr;  // null: not set (a joined uts namespace keeps its own)
  const rootfs::Plan* rootfs = nullptr;
  const char* root_base = "/tmp";  // where the new root is assembled before pivot_root
  const std::vector<RlimitSpec>* rlimits = nullptr;
  const caps::Plan* caps = nullptr;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  const char* cwd = "/";
  int umask = -1;  // process.user.umask; -1 = inherited
  // execve candidates: args[0] itself when it has a slash, else each PATH entry joined with it.
  std::vector<std::string> exec_paths;
  std::vector<char*> argv;  // null-terminated
  std::vector<char*> envp;  // null-terminated
  int stdout_fd = -1;       // --capture: files to put at 1 and 2
  int stderr_fd = -1;
  const landlock::Prepared* landlock = nullptr;  // applied after rlimits; null = none
  const seccomp::Filter* seccomp = nullptr;      // installed by the payload before execve
  // config.json's linux.seccomp: installed just before `seccomp` (which may notify on the
  // seccomp call itself, while nobody holds the listener yet); the stricter answer wins.
  const seccomp::OciFilter* oci_seccomp = nullptr;
  // The parent takes the payload's seccomp listener with pidfd_getfd, which needs the payload
  // dumpable unless the parent holds CAP_SYS_PTRACE. Dumpability belongs to the memory image,
  // so a payload that must become dumpable gets its own copy of it instead of sharing pid 1's.
  bool payload_needs_dumpable = false;
  // The payload ignores SIGXFSZ (Python does), so passing file_size_mb gives it EFBIG and no
  // signal anyone sees. It starts with SIGXFSZ blocked instead — for a program that ignores
  // the signal nothing changes — and the kernel keeps a blocked signal pending, where the
  // supervisor finds it when the process calls exit_group (a watched call, seccomp.h).
  bool payload_ignores_sigxfsz = false;
  // ContainerOptions::detached: no parent-death signal; the program is checked before the
  // payload waits for its start; pid 1 exits with the payload's status (128+N for signal N).
  bool detached = false;
  int preserve_fds = 0;  // fds 3 .. 3+N-1 stay open across execve
  // Namespaces joined by path (sandbox/ns_join.h). In a network namespace not its own there
  // is no `lo` to bring up (nor the privilege to). In a joined pid namespace this process is
  // not pid 1: the kernel then neither kills the payload's processes when it dies nor sends
  // it the payload's orphans, so it becomes their subreaper and the payload gets a
  // parent-death signal; the rest of the container's processes die with its cgroup
  // (cgroup.kill), which is how the supervisor and `delete` kill.
  bool own_netns = true;
  bool own_pidns = true;
  // linux.sysctl, written through the container's /proc/sys before linux.readonlyPaths.
  const sysctl::Plan* sysctls = nullptr;
  // process.terminal: a pty from the sandbox's devpts; its master goes to the parent (sync
  // 2b), its slave becomes the payload's controlling terminal and stdio.
  bool terminal = false;
  uint16_t console_rows = 0, console_cols = 0;  // process.consoleSize
};

// Runs in the cloned child; never returns.
[[noreturn]] void ChildMain(const ChildContext& ctx) noexcept;

}  // namespace hive
