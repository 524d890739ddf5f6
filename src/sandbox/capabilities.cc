#include "sandbox/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

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

std::string Name(int cap) {
  char* text = cap_to_name(static_cast<cap_value_t>(cap));
  if (text == nullptr) return std::to_string(cap);
  std::string out;
  for (const char* c = text; *c; ++c) out += static_cast<char>(std::toupper(*c));
  cap_free(text);
  return out;
}

Status Prepare(const CapabilitySets& sets, Plan* plan) {
  plan->bounding = sets.bounding;
  plan->ambient = sets.ambient;
  plan->state = cap_init();  // all sets empty
  if (!plan->state) return Errno("cap_init");
  for (auto [flag, set] : {std::pair{CAP_PERMITTED, &sets.permitted},
                           std::pair{CAP_EFFECTIVE, &sets.effective},
                           std::pair{CAP_INHERITABLE, &sets.inheritable}}) {
    if (set->empty()) continue;
    std::vector<cap_value_t> values(set->begin(), set->end());
    if (cap_set_flag(plan->state, flag, static_cast<int>(values.size()), values.data(), CAP_SET) !=
        0) {
      return Errno("cap_set_flag");
    }
  }
  return Ok();
}

int SetUid(uid_t uid, const char** step) noexcept {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    *step = "keep capabilities across the uid change";
    return -errno;
  }
  if (setresuid(uid, uid, uid) != 0) {
    *step = "setresuid";
    return -errno;
  }
  // Kept as permitted only: effective again, for Apply.
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) {
    *step = "capget";
    return -errno;
  }
  data[0].effective = data[0].permitted;
  data[1].effective = data[1].permitted;
  if (syscall(SYS_capset, &header, data) != 0) {
    *step = "capset";
    return -errno;
  }
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
    *step = "clear keep-capabilities";
    return -errno;
  }
  return 0;
}

int Apply(const Plan& plan, const char** step) noexcept {
  const int last = static_cast<int>(cap_max_bits()) - 1;
  for (int c = 0; c <= last; ++c) {
    if (std::find(plan.bounding.begin(), plan.bounding.end(), c) != plan.bounding.end()) continue;
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
  // Ambient capabilities need to be permitted and inheritable already: set after the state.
  for (int c : plan.ambient) {
    if (cap_set_ambient(static_cast<cap_value_t>(c), CAP_SET) != 0) {
      *step = "raise an ambient capability";
      return -errno;
    }
  }
  return 0;
}

}  // namespace hive::caps
