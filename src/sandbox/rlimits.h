// hive::rlimits: the per-process limits the child sets on itself before exec.
#pragma once

#include <vector>

#include "hive/run_spec.h"

namespace hive::rlimits {

// Policy limits (cpu seconds, file size, open files, no core dumps) merged with the bundle's
// rlimits, the stricter of the two winning.
std::vector<RlimitSpec> FromLimits(const ExecutionLimits& limits,
                                   const std::vector<RlimitSpec>& bundle);

// Child: 0 or -errno; *failed is the resource that could not be set.
int Apply(const std::vector<RlimitSpec>& rlimits, int* failed) noexcept;

}  // namespace hive::rlimits
