// hive::caps: capability names, and dropping every capability not kept (libcap).
#pragma once

#include <sys/capability.h>

#include <string>
#include <vector>

#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive::caps {

// CAP_* number for "CAP_NET_ADMIN" (or "net_admin"), -1 when unknown.
int FromName(const std::string& name);
// "CAP_NET_ADMIN" for its number.
std::string Name(int cap);

// Prepared in the parent so the child only makes system calls.
struct Plan {
  cap_t state = nullptr;  // permitted, effective, inheritable
  std::vector<int> bounding, ambient;
  ~Plan();
};
Status Prepare(const CapabilitySets& sets, Plan* plan);

// Child: setresuid to `uid`, keeping the capabilities Apply still needs to drop the bounding
// set and set the kept ones (a switch to a non-root uid clears them otherwise). Returns 0 or
// -errno; `step` names what failed.
int SetUid(uid_t uid, const char** step) noexcept;

// Child: drops the bounding set to `bounding`, sets the prepared state, raises `ambient`.
// Returns 0 or -errno; `step` names what failed.
int Apply(const Plan& plan, const char** step) noexcept;

}  // namespace hive::caps
