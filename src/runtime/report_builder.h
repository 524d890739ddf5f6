// From what a container went through (ContainerResult) to the run report: the outcome and which
// limit ended the run, violations, alerts, usage, and what each layer enforced.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hive/policy.h"
#include "hive/report.h"
#include "hive/run_spec.h"
#include "sandbox/cgroups/cgroups.h"
#include "sandbox/landlock/landlock.h"
#include "sandbox/seccomp/seccomp.h"
#include "supervisor/container.h"

namespace hive {

// The limits the kernel was given, in the policy's units: the report's `limits`.
ExecutionLimits LimitsOf(const RunSpec& spec);

// Which limit ended the run, from the kernel's counters and the way the process died; for
// the report's `outcome` and `killed_by`. `exit_code` is the process's own code (-1 when it
// did not exit), `term_signal` the signal that ended it (0 when it exited). Returns nothing
// when no limit ended the run (a limit hit by a run that still exited 0 is not its fate).
struct LimitHit {
  Outcome outcome;
  std::string killed_by;  // "memory_limit", "pids_limit", "cpu_limit", "file_size_limit"
  std::string detail;     // "OOM killer fired 1 time(s) at memory_mb=64"
};
std::optional<LimitHit> ClassifyLimit(const cgroups::Stats& stats, const ExecutionLimits& limits,
                                      int exit_code, int term_signal);

// `monitoring.alert_thresholds` applied to the measured usage (DESIGN §5).
std::vector<Alert> AlertsFor(const Usage& usage, const ExecutionLimits& limits,
                             const AlertThresholds& thresholds, uint64_t wall_ms);

// The `enforced` entries of the two syscall/filesystem layers.
nlohmann::json LandlockEnforced(const landlock::Prepared& p);
nlohmann::json SeccompEnforced(const seccomp::Filter& f);

// The report's fields that come from the spec alone (run id, command, limits, policy hash).
void StartReport(const RunSpec& spec, RunReport* report);
// What the layers of `container` enforced, into report->enforced.
void ReportEnforced(const RunSpec& spec, const Container& container, RunReport* report);
// The fate of the run, its usage, violations and alerts.
void FinishReport(const RunSpec& spec, ContainerResult result, RunReport* report);

}  // namespace hive
