// hive::Supervise: creates the sandbox for a RunSpec with one clone3, releases it, and waits on
// a pidfd, a timerfd and a signalfd in one epoll loop. The process's fate is data in the
// returned report; a setup failure is outcome `setup_error` with the step named.
#pragma once

#include <string>

#include "hive/report.h"
#include "hive/run_spec.h"

namespace hive {

struct SuperviseOptions {
  std::string stdout_path;  // --capture: where the sandbox's stdout/stderr go
  std::string stderr_path;
  std::string seccomp_cache_dir;  // compiled filters kept across runs; empty = in-process only
};

RunReport Supervise(const RunSpec& spec, const SuperviseOptions& options);

}  // namespace hive
