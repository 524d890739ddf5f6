// hive::rlimits: the per-process limits the child sets on itself before exec.
#pragma once

#include <vector>

#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive::rlimits {

// Child: 0 or -errno; *failed is the resource that could not be set.
int Apply(const std::vector<RlimitSpec>& rlimits, int* failed) noexcept;

}  // namespace hive::rlimits
