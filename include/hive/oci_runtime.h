// hive::oci: the container lifecycle of the runc command line (create, start, state, kill,
// delete, run, exec, list), over the same pipeline as every other run: config.json → policy
// ceiling → RunSpec → Container.
//
// `create` leaves the container's pid 1 blocked before exec, in its namespaces and cgroups,
// and a monitor process that holds the seccomp listener and the cgroups; neither is an
// ancestor of the other, so both reparent to the caller (conmon and the containerd shim are
// subreapers) and the caller reaps pid 1. `start` asks the monitor to release the payload;
// `delete` asks it to write the container's signed audit record and remove the cgroups.
//
//   hive::oci::Global g{.root = "/run/hive-run"};
//   HIVE_TRY(hive::oci::Create(g, {.id = "c1", .bundle = "b"}));
//   HIVE_TRY(hive::oci::Start(g, "c1"));
//   HIVE_TRY(hive::oci::Delete(g, "c1", /*force=*/true));
#pragma once

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <string>
#include <vector>

#include "hive/status.h"

namespace hive::oci {

inline constexpr const char* kDefaultRoot = "/run/hive-run";

struct Global {
  std::string root;         // the containers' state (`--root`)
  std::string state_dir;    // hive-run's own state: audit log, keys, caches
  std::string policy_path;  // empty: $HIVE_RUN_POLICY, /etc/hive-run/policy.yml, built in
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;
  bool no_pivot = false;
  bool no_new_keyring = false;
};

// `exec`: a new process in a running container, in all its namespaces and cgroups and under
// the same confinement as its payload (Landlock, both seccomp filters, capabilities within
// the payload's, rlimits, no_new_privs); its seccomp denials go into the container's audit
// record. Either `process_file` (an OCI process object) or `args` (the container's process
// with these arguments, `cwd`, `env` and `user` applied).
struct ExecOptions {
  std::string id;
  std::string process_file;
  std::vector<std::string> args;
  std::string cwd;
  std::vector<std::string> env;  // NAME=VALUE, replacing the container's value of NAME
  std::string user;              // UID[:GID]
  bool detach = false;
  std::string pid_file;
  int preserve_fds = 0;
  bool tty = false;
  std::string console_socket;
};

Status Create(const Global& g, const CreateOptions& o);
Status Start(const Global& g, const std::string& id);
Result<nlohmann::json> State(const Global& g, const std::string& id);
Status Kill(const Global& g, const std::string& id, int signal, bool all);
Status Delete(const Global& g, const std::string& id, bool force);
// Detached: 0 once the process has exec'd (it is then the caller's to reap). Otherwise waits
// for it: its exit status, 128+N when signal N ended it.
Result<int> Exec(const Global& g, const ExecOptions& o);
// create + start, then waits for pid 1 and deletes (unless detach): the exit status.
Result<int> Run(const Global& g, const CreateOptions& o, bool detach);
// Host pids of the container's processes (its cgroup); empty once it has stopped.
Result<std::vector<pid_t>> Pids(const Global& g, const std::string& id);
// pause (true) / resume (false) through the cgroup freezer.
Status Pause(const Global& g, const std::string& id, bool pause);
// Applies a LinuxResources JSON (`update --resources`) to a running container's cgroups,
// within the policy's limits when it was created; `source` names the input in errors.
Status Update(const Global& g, const std::string& id, const std::string& resources_json,
              const std::string& source);
// The state of every container under the root.
Result<nlohmann::json> List(const Global& g);

}  // namespace hive::oci
