// A config.json's own linux.seccomp (the OCI profile podman and containerd send), compiled
// with libseccomp into a second filter. The child installs it beneath hive-run's own filter:
// the kernel applies the stricter answer of the two, so the policy's profile stays the
// ceiling and the config's can only take more away.
//
//   HIVE_ASSIGN_OR_RETURN(hive::seccomp::OciFilter f,
//                         hive::seccomp::CompileOciProfile(spec.linux.seccomp_oci));
//   // child: seccomp(SECCOMP_SET_MODE_FILTER, f.flags, {f.program})
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "hive/status.h"

namespace hive::seccomp {

struct OciFilter {
  std::vector<sock_filter> program;
  unsigned int flags = 0;  // SECCOMP_FILTER_FLAG_LOG, _SPEC_ALLOW
};

// Refuses (naming the field) actions, operators, architectures and flags it cannot honour;
// syscall names this libseccomp does not know are skipped, as runc does.
Result<OciFilter> CompileOciProfile(const std::string& json_text);

}  // namespace hive::seccomp
