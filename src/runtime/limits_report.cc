// Naming the limit that ended a run, and the monitoring alerts, from kernel counters.
#include <fmt/format.h>
#include <signal.h>

#include "runtime/report_builder.h"

namespace hive {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// A short run at 100% of a CPU is normal start-up, not something to alert on.
constexpr uint64_t kMinWallMsForCpuAlert = 1000;

}  // namespace

std::optional<LimitHit> ClassifyLimit(const cgroups::Stats& stats, const ExecutionLimits& limits,
                                      int exit_code, int term_signal) {
  // The signal says how the process died; the counters say which limit was behind it. A
  // SIGKILL alone proves nothing (the sandbox may kill itself): it names memory only when
  // the OOM counter moved, and CPU only when the sandbox used its cpu_seconds (the hard
  // RLIMIT_CPU or the supervisor's whole-sandbox check).
  auto cpu = [&] {
    return LimitHit{Outcome::kCpuLimit, "cpu_limit",
                    fmt::format("{:.2f} s of CPU used, cpu_seconds={} (signal {})",
                                static_cast<double>(stats.cpu_usage_ns) / 1e9, limits.cpu_seconds,
                                term_signal)};
  };
  if (term_signal == SIGXCPU) return cpu();
  if (term_signal == SIGXFSZ) {
    return LimitHit{
        Outcome::kFileSizeLimit, "file_size_limit",
        fmt::format("a write went past file_size_mb={} (SIGXFSZ)", limits.file_size_mb)};
  }
  const bool failed = term_signal != 0 || exit_code != 0;
  if (failed && stats.oom_killed) {
    return LimitHit{
        Outcome::kMemoryLimit, "memory_limit",
        fmt::format("OOM killer fired {} time(s) at memory_mb={} (peak {} bytes)",
                    stats.oom_kill_count, limits.memory_mb, stats.memory_peak_bytes)};
  }
  if (term_signal == SIGKILL && limits.cpu_seconds > 0 &&
      stats.cpu_usage_ns >= limits.cpu_seconds * 1000000000ULL) {
    return cpu();
  }
  if (failed && stats.pids_limit_hit) {
    return LimitHit{Outcome::kPidsLimit, "pids_limit",
                    fmt::format("fork refused at max_processes={} (peak {})", limits.max_processes,
                                stats.pids_peak)};
  }
  return std::nullopt;
}

std::vector<Alert> AlertsFor(const Usage& usage, const ExecutionLimits& limits,
                             const AlertThresholds& thresholds, uint64_t wall_ms) {
  std::vector<Alert> alerts;
  const uint64_t cpu_ms = usage.cpu_user_ms + usage.cpu_system_ms;
  // CPU time available over the run is the bandwidth quota. Without one, the sandbox may use
  // every CPU of the host: a build that does is what was asked for, not an alert.
  const double cpus = limits.cpus;
  if (thresholds.cpu_usage > 0 && cpus > 0 && wall_ms >= kMinWallMsForCpuAlert) {
    const double pct = 100.0 * static_cast<double>(cpu_ms) / (static_cast<double>(wall_ms) * cpus);
    if (pct >= thresholds.cpu_usage) {
      alerts.push_back({"cpu_usage",
                        fmt::format("CPU usage {:.0f}% of {} CPU(s) over {} ms reached the {:.0f}% "
                                    "threshold",
                                    pct, cpus, wall_ms, thresholds.cpu_usage),
                        pct, thresholds.cpu_usage});
    }
  }
  if (thresholds.memory_usage > 0 && limits.memory_mb > 0) {
    const double pct = 100.0 * static_cast<double>(usage.memory_peak_bytes) /
                       (static_cast<double>(limits.memory_mb) * kMiB);
    if (pct >= thresholds.memory_usage) {
      alerts.push_back({"memory_usage",
                        fmt::format("memory peak {:.0f}% of memory_mb={} reached the {:.0f}% "
                                    "threshold",
                                    pct, limits.memory_mb, thresholds.memory_usage),
                        pct, thresholds.memory_usage});
    }
  }
  if (thresholds.execution_time > 0) {
    const double secs = static_cast<double>(wall_ms) / 1000.0;
    if (secs >= thresholds.execution_time) {
      alerts.push_back(
          {"execution_time",
           fmt::format("ran {:.1f} s, threshold {:.0f} s", secs, thresholds.execution_time), secs,
           thresholds.execution_time});
    }
  }
  return alerts;
}

}  // namespace hive
