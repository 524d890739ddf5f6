// hive::Container: one sandbox's lifecycle, in the four steps a runtime needs.
//
//   Create   prepare every layer, create the cgroups, clone3, write the id maps, release the
//            child into its setup, take the payload's seccomp listener: the payload then sits
//            in its namespaces and cgroups, blocked right before execve
//   Start    release the payload and wait for its execve
//   Monitor  one event loop until pid 1 exits: wall timeout, whole-sandbox CPU time,
//            interrupts, seccomp notifications
//   Collect  reap, read the kernel's counters, remove the cgroups: a ContainerResult
//
// `script`/`exec`/bundle runs call the four in one process. The child (pid 1 of the sandbox),
// the cgroups and the listener are handles that can be released to another process and
// reopened from saved state (Release, ContainerState).
//
//   HIVE_ASSIGN_OR_RETURN(auto c, hive::Container::Create(spec, options));
//   HIVE_TRY(c->Start());
//   c->Monitor();
//   hive::ContainerResult r = c->Collect();
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hive/run_spec.h"
#include "base/unique_fd.h"
#include "hive/status.h"
#include "sandbox/cgroups/cgroups.h"
#include "sandbox/landlock/landlock.h"
#include "sandbox/seccomp/oci_profile.h"
#include "sandbox/seccomp/seccomp.h"

namespace hive {

struct ContainerOptions {
  std::string stdout_path;  // --capture: where the sandbox's stdout/stderr go
  std::string stderr_path;
  std::string seccomp_cache_dir;  // compiled filters kept across runs; empty = in-process only
  // Work that must succeed before the payload may exec. It runs while the child sets itself up
  // when the payload waits for the parent anyway (seccomp listener handoff), else before the
  // clone. An error ends Create before the payload ever runs.
  std::function<Status()> before_exec;
  // OCI create/start (`hive-run create`): the process that calls Create exits after it, so
  // the sandbox outlives it (no parent-death signal), pid 1 exits with the payload's own
  // status for whoever reaps it, a missing or non-executable program is reported by Create,
  // fds 3 .. 3+preserve_fds-1 pass to the payload, and Collect (in a monitor that is not the
  // sandbox's parent) leaves the cgroups for Destroy.
  bool detached = false;
  int preserve_fds = 0;
  // The caller runs config.json's hooks at their moments of the OCI lifecycle (oci_hooks.h);
  // every other caller has a spec with hooks refused rather than run without them.
  bool runs_oci_hooks = false;
  // process.terminal: the caller takes the pty's master from Create (TakeConsole) and hands
  // it on (the OCI console socket). A spec asking for a terminal is refused without it.
  bool console = false;
};

// What happened to a sandbox, as the kernel and the supervisor saw it; the runtime turns it
// into a report. Nothing in it comes from anything the sandbox can write.
struct ContainerResult {
  // Setup: an error (step named) or what stopped it; the payload then never ran.
  Status setup_error;
  bool exec_failed = false;  // execve of the payload failed
  int exec_errno = 0;
  bool ran = false;          // the payload exec'd
  int wait_status = 0;       // the payload's wait status (or the signal that ended pid 1)
  bool timed_out = false;    // the wall timeout killed it
  bool interrupted = false;  // SIGINT/SIGTERM/SIGHUP/SIGQUIT reached the supervisor
  int interrupt_signal = 0;
  bool cpu_killed = false;                // the whole sandbox used its CPU seconds
  uint64_t file_size_hits = 0;            // processes that exited with a write past RLIMIT_FSIZE
  std::vector<std::string> captures_cut;  // "stdout", "stderr": cut at RLIMIT_FSIZE
  struct rusage rusage = {};              // of pid 1 and what it reaped
  std::optional<cgroups::Stats> cgroup;   // the cgroup's counters, when they could be read
  std::vector<seccomp::Denial> denials;
  uint64_t denials_total = 0;
  bool denials_recorded = true;
  std::vector<std::string> warnings;
  // Allowed domains: {allowed_domains, connections, dns} (supervisor/egress.h); null otherwise.
  nlohmann::json network;
  std::string started_at;  // RFC 3339
  uint64_t wall_ms = 0;
};

// What is needed to find a container's handles again from another process.
struct ContainerState {
  pid_t pid = 0;                         // pid 1 of the sandbox (host pid)
  std::vector<std::string> cgroup_dirs;  // the run's cgroup directories
};

// What the supervisor cannot honour yet, by the config.json field: a spec asking for it is
// refused before anything is created (never run without it). Hooks are honoured only by a
// caller that runs them (`runs_oci_hooks`, the OCI lifecycle).
Status SupervisorRefusal(const RunSpec& spec, bool runs_oci_hooks = false);

class Container {
 public:
  static Result<std::unique_ptr<Container>> Create(const RunSpec& spec,
                                                   const ContainerOptions& options);
  ~Container();
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  // Releases the payload; returns once it has exec'd (or setup failed: Collect says how).
  Status Start();
  // Serves the sandbox until pid 1 exits.
  void Monitor();
  ContainerResult Collect();
  // Removes the cgroups a detached Collect left (the OCI delete).
  Status DestroyCgroups();
  // Setup that failed during Create (the payload never became ready), else Ok.
  Status SetupError() const;
  // The seccomp listener of a process that entered the running sandbox (OCI exec) with the
  // payload's own filter: served like the payload's, its denials counted in Collect.
  Status AdoptListener(int fd);
  // Serves `fd` from the wait loop while Monitor runs (`on_readable` when it has input).
  Status Serve(int fd, std::function<void()> on_readable);
  pid_t pid() const;
  // The master of the container's terminal (ContainerOptions::console), once: the caller's
  // to send on and close. Invalid when no terminal was asked for.
  UniqueFd TakeConsole();

  // The layers as prepared, for the report's `enforced` section.
  const landlock::Prepared& landlock() const;
  const seccomp::Filter& filter() const;
  const seccomp::OciFilter& oci_filter() const;  // config.json's linux.seccomp; may be empty
  const std::vector<std::string>& cgroup_warnings() const;

  // Gives up the handles: the child is no longer killed, the cgroups no longer removed, the
  // listener fd is the caller's, when this object goes. Returns what reopens them.
  ContainerState Release(int* listener_fd);

  struct Impl;

 private:
  explicit Container(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hive
