#include "sandbox/capabilities.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace hive::caps {

int FromName(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.rfind("cap_", 0) != 0) lower = "cap_" + lower;
  cap_value_t v;
  if (cap_from_name(lower.c_str(), &v) != 0) return -1;
  return v;
}

Plan::~Plan() {
  if (state) cap_free(state);
}

Status Prepare(const std::vector<int>& kept, Plan* plan) {
  plan->kept = kept;
  plan->state = cap_init();  // all sets empty
  if (!plan->state) return Errno("cap_init");
  if (!kept.empty()) {
    std::vector<cap_value_t> values(kept.begin(), kept.end());
    for (cap_flag_t flag : {CAP_PERMITTED, CAP_EFFECTIVE, CAP_INHERITABLE}) {
      if (cap_set_flag(plan->state, flag, static_cast<int>(values.size()), values.data(),
                       CAP_SET) != 0) {
        return Errno("cap_set_flag");
      }
    }
  }
  return Ok();
}

int Apply(const Plan& plan, const char** step) noexcept {
  const int last = static_cast<int>(cap_max_bits()) - 1;
  for (int c = 0; c <= last; ++c) {
    if (std::find(plan.kept.begin(), plan.kept.end(), c) != plan.kept.end()) continue;
    if (cap_drop_bound(c) != 0 && errno != EINVAL) {
      *step = "drop capability from the bounding set";
      return -errno;
    }
  }
  if (cap_reset_ambient() != 0 && errno != EINVAL) {
    *step = "clear ambient capabilities";
    return -errno;
  }
  if (cap_set_proc(plan.state) != 0) {
    *step = "set capabilities";
    return -errno;
  }
  return 0;
}

}  // namespace hive::caps
