// hive::Supervise: creates the sandbox for a RunSpec with one clone3, releases it, and waits on
// a pidfd, a timerfd and a signalfd in one epoll loop. The process's fate is data in the
// returned report; a setup failure is outcome `setup_error` with the step named.
#pragma once

#include <functional>
#include <string>

#include "hive/report.h"
#include "hive/run_spec.h"

namespace hive {

struct SuperviseOptions {
  std::string stdout_path;  // --capture: where the sandbox's stdout/stderr go
  std::string stderr_path;
  std::string seccomp_cache_dir;  // compiled filters kept across runs; empty = in-process only
  // Work that must succeed before the payload may exec. It runs while the child sets itself up
  // when the payload waits for the parent anyway (seccomp listener handoff), else before the
  // clone. An error ends the run as a setup error before the payload ever runs.
  std::function<Status()> before_exec;
};

RunReport Supervise(const RunSpec& spec, const SuperviseOptions& options);

}  // namespace hive
