// hive::oci::Confinement: what a process entering a running container (`hive-run exec`) needs
// to be confined exactly as the container's payload is, saved by `create` next to the record
// (<root>/<id>/confinement.json).
//
// The layers are saved as they were prepared for the payload — the Landlock rules, the
// compiled seccomp programs (the policy's and config.json's), the capability sets, rlimits and
// user — not recomputed from the policy or the bundle at exec time: a policy file or bundle
// edited after create can change neither what the container runs under nor what is exec'd
// into it.
//
//   HIVE_TRY(hive::oci::SaveConfinement(root, "c1", confinement));        // create
//   HIVE_ASSIGN_OR_RETURN(auto c, hive::oci::LoadConfinement(root, "c1"));  // exec
#pragma once

#include <string>

#include "hive/run_spec.h"
#include "hive/status.h"
#include "sandbox/landlock/landlock.h"
#include "sandbox/seccomp/oci_profile.h"
#include "sandbox/seccomp/seccomp.h"

namespace hive::oci {

struct Confinement {
  ProcessSpec process;          // the payload's: exec's defaults, and its ceiling
  landlock::Prepared landlock;  // abi 0: none was applied
  // The policy's filter as installed: program, errno_program (the fallback when a listener
  // exists above), flags, notify, profile_name. Empty program: none.
  seccomp::Filter filter;
  seccomp::OciFilter oci_filter;  // config.json's linux.seccomp; empty: none
  // Whether the container's pid and network namespaces are its own (not joined by path):
  // then they hold only the container's processes and sockets.
  bool own_pid_ns = true;
  bool own_net_ns = true;
};

Status SaveConfinement(const std::string& root, const std::string& id, const Confinement& c);
// Code::kNotFound naming the container when there is no saved confinement.
Result<Confinement> LoadConfinement(const std::string& root, const std::string& id);

}  // namespace hive::oci
