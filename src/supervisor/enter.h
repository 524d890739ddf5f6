// hive::EnteredProcess: a new process inside a running sandbox (the OCI `exec`), confined as
// the sandbox's payload is.
//
// The process is cloned into the sandbox's cgroups (CLONE_INTO_CGROUP for v2, cgroup.procs
// for v1 hierarchies) and its pid namespace, then joins the user, mount, network, uts, ipc and
// cgroup namespaces of the sandbox's pid 1 through its pidfd (one setns, so either all are
// joined or none), and applies the payload's layers to itself in the payload's order: rlimits,
// Landlock, user and capabilities, no_new_privs, fds closed, config.json's seccomp filter,
// then the policy's filter with its listener, which the parent takes (pidfd_getfd). It then
// waits before execve until Start, so the listener can be handed to whoever serves it.
//
// The process is a child of the caller: a caller that exits leaves it to the nearest
// subreaper (conmon, the containerd shim) with no hive-run process in between.
//
//   HIVE_ASSIGN_OR_RETURN(auto p, hive::EnteredProcess::Create(options));
//   UniqueFd listener = p->TakeListener();   // -1: the filter has none
//   ... hand `listener` to the sandbox's monitor ...
//   HIVE_TRY(p->Start());                    // returns once the program exec'd
//   p->Release();                            // no longer killed when `p` goes
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "hive/run_spec.h"
#include "hive/status.h"
#include "sandbox/landlock/landlock.h"
#include "sandbox/seccomp/oci_profile.h"
#include "sandbox/seccomp/seccomp.h"

namespace hive {

struct EnterOptions {
  int target_pidfd = -1;                 // the sandbox's pid 1, pinned by the caller
  std::vector<std::string> cgroup_dirs;  // the sandbox's cgroups
  // What runs and as whom: args, env, cwd, user, capabilities, rlimits (already checked
  // against the sandbox's own by the caller).
  const ProcessSpec* process = nullptr;
  const landlock::Prepared* landlock = nullptr;  // abi 0: none
  const seccomp::Filter* filter = nullptr;       // empty program: none
  const seccomp::OciFilter* oci_filter = nullptr;
  int preserve_fds = 0;  // fds 3 .. 3+N-1 stay open across execve
};

class EnteredProcess {
 public:
  // Returns once the process waits before execve with every layer applied. Needs privilege
  // over the sandbox (root, or the user who owns its user namespace).
  static Result<std::unique_ptr<EnteredProcess>> Create(const EnterOptions& options);
  ~EnteredProcess();
  EnteredProcess(const EnteredProcess&) = delete;
  EnteredProcess& operator=(const EnteredProcess&) = delete;

  // The process's seccomp listener (invalid when its filter notifies nobody).
  UniqueFd TakeListener();
  // With process.terminal: the master of the pty the process runs on, opened in the
  // container's devpts (invalid without a terminal).
  UniqueFd TakeConsole() { return std::move(console_); }
  // Lets the process exec; returns once it has. A program that cannot run is an error whose
  // message reads "exec `PROGRAM`: <strerror>", with the errno.
  Status Start();
  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  // The process is no longer killed and reaped when this object goes.
  void Release() { released_ = true; }

  struct Context;

 private:
  EnteredProcess() = default;
  std::unique_ptr<Context> ctx_;
  pid_t pid_ = -1;
  UniqueFd pidfd_, sync_, exec_pipe_, listener_, console_;
  bool released_ = false;
};

}  // namespace hive
