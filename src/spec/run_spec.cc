#include "hive/run_spec.h"

#include <sys/resource.h>

#include <string_view>

namespace hive {
namespace {

constexpr std::pair<std::string_view, int> kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

}  // namespace

const char* RlimitName(int resource) {
  for (const auto& [name, r] : kRlimits) {
    if (r == resource) return name.data();
  }
  return "RLIMIT_UNKNOWN";
}

int RlimitByName(const std::string& name) {
  for (const auto& [n, r] : kRlimits) {
    if (n == name) return r;
  }
  return -1;
}

}  // namespace hive
