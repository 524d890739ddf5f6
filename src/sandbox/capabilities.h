// hive::caps: capability names, and dropping every capability not kept (libcap).
#pragma once

#include <sys/capability.h>

#include <string>
#include <vector>

#include "hive/status.h"

namespace hive::caps {

// CAP_* number for "CAP_NET_ADMIN" (or "net_admin"), -1 when unknown.
int FromName(const std::string& name);

// Prepared in the parent so the child only makes system calls.
struct Plan {
  cap_t state = nullptr;  // permitted = effective = inheritable = kept
  std::vector<int> kept;
  ~Plan();
};
Status Prepare(const std::vector<int>& kept, Plan* plan);

// Child: drops the bounding set to `kept`, clears ambient, sets the prepared state.
// Returns 0 or -errno; `step` names what failed.
int Apply(const Plan& plan, const char** step) noexcept;

}  // namespace hive::caps
