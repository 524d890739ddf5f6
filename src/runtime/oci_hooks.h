// hive::oci hooks: config.json's `hooks`, run at their moments of the OCI lifecycle (the
// runtime-spec's "POSIX-platform Hooks").
//
// Each hook is a host program run with the container's state JSON on stdin, its own `args`
// (argv[0] as given) and `env`, and killed when it outlives its `timeout`. Where it runs:
//
//   prestart, createRuntime   create, once the container's namespaces exist: runtime namespaces
//   createContainer           create: path resolved in the runtime's mount namespace, run
//                             inside the container's namespaces (user, mount, pid, net, uts,
//                             ipc, cgroup) as the container's root
//   startContainer            start, before the payload execs: path resolved and run inside the
//                             container's namespaces
//   poststart                 start, after the payload exec'd: runtime namespaces
//   poststop                  delete, once the container is gone: runtime namespaces
//
// A hook is not the container's payload: it never carries the payload's seccomp filter,
// Landlock ruleset or capability drop, which is why the policy must allow hooks at all
// (security.process.allow_oci_hooks). The payload itself loses nothing to them. Hooks stay in
// hive-run's own cgroup, not the container's: its limits and its `kill --all` are the
// container's program's alone.
//
//   std::vector<std::string> warnings;
//   HIVE_TRY(hive::oci::RunHooks(HookKind::kPrestart, spec.hooks.prestart, StateJson(r),
//                                r.pid, &warnings));
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive::oci {

enum class HookKind {
  kPrestart,
  kCreateRuntime,
  kCreateContainer,
  kStartContainer,
  kPoststart,
  kPoststop
};

// config.json's name of the kind ("createRuntime").
const char* HookKindName(HookKind kind);

// Runs `hooks` in order. `state` is the container's state (StateJson); its `status` is set to
// the one the runtime-spec gives the moment (creating, created, running, stopped).
// `container_pid` is pid 1 of the container, whose namespaces createContainer and
// startContainer hooks enter. prestart, createRuntime, createContainer and startContainer
// stop at the first failure, returned as "hooks.<kind>[i]: `path` exited with status N:
// <output tail>"; poststart and poststop hooks all run, and a failure is appended to
// `warnings` instead (the runtime-spec: logged, the lifecycle goes on).
Status RunHooks(HookKind kind, const std::vector<HookSpec>& hooks, nlohmann::json state,
                pid_t container_pid, std::vector<std::string>* warnings);

// The longest the hooks may take together, in seconds; -1 when one of them has no timeout.
int64_t HooksTimeBound(const std::vector<HookSpec>& hooks);

}  // namespace hive::oci
