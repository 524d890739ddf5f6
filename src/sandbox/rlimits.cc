#include "sandbox/rlimits.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>

namespace hive::rlimits {
namespace {

void Tighten(std::vector<RlimitSpec>* out, int resource, uint64_t value) {
  for (RlimitSpec& r : *out) {
    if (r.resource == resource) {
      r.soft = std::min<uint64_t>(r.soft, value);
      r.hard = std::min<uint64_t>(r.hard, value);
      return;
    }
  }
  out->push_back({resource, value, value});
}

}  // namespace

std::vector<RlimitSpec> FromLimits(const ExecutionLimits& limits,
                                   const std::vector<RlimitSpec>& bundle) {
  std::vector<RlimitSpec> out = bundle;
  // The soft CPU limit sends SIGXCPU, which the report names cpu_limit; the hard limit one
  // second later is the SIGKILL backstop for a process that ignores SIGXCPU.
  if (limits.cpu_seconds > 0) {
    Tighten(&out, RLIMIT_CPU, limits.cpu_seconds + 1);
    for (RlimitSpec& r : out) {
      if (r.resource == RLIMIT_CPU) r.soft = std::min<uint64_t>(r.soft, limits.cpu_seconds);
    }
  }
  if (limits.file_size_mb > 0) Tighten(&out, RLIMIT_FSIZE, limits.file_size_mb << 20);
  Tighten(&out, RLIMIT_NOFILE, limits.max_open_files);
  Tighten(&out, RLIMIT_CORE, 0);
  return out;
}

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
