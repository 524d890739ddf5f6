#include "sandbox/rlimits.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>

namespace hive::rlimits {

int Apply(const std::vector<RlimitSpec>& rlimits, int* failed) noexcept {
  for (const RlimitSpec& r : rlimits) {
    struct rlimit rl;
    rl.rlim_cur = r.soft == UINT64_MAX ? RLIM_INFINITY : r.soft;
    rl.rlim_max = r.hard == UINT64_MAX ? RLIM_INFINITY : r.hard;
    if (setrlimit(static_cast<__rlimit_resource>(r.resource), &rl) != 0) {
      *failed = r.resource;
      return -errno;
    }
  }
  return 0;
}

}  // namespace hive::rlimits
