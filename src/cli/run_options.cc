#include "cli/run_options.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "base/user_text.h"
#include "hive/policy.h"
#include "base/log.h"
#include "hive/state_dir.h"

namespace hive::cli {

const char* const kRunOptionsHelp = R"(options:
  --policy FILE        security policy (YAML); default: the built-in policy
  --timeout T          wall-clock limit: seconds, or 90s, 5m, 2h
  --memory SIZE        memory limit: MiB, or 512M, 2G
  --pids N             processes and threads the sandbox may have at once
  --cpu-seconds T      CPU time of the whole sandbox: seconds, or 10m
  --tmp-size SIZE      size of the private /tmp: MiB, or 1G
  --bind SRC:DST[:rw]  bind a host path (read-only unless :rw)
  --owner UID:GID      host owner of files written into writable binds
  --env NAME=VALUE     set a variable; --env NAME passes the host's value
  --workdir DIR        working directory inside the sandbox
  --report FILE        write the run report (JSON); `-` is standard output
  --json               the run report on standard output (= --report -)
  --id ID              run id (default: generated)
  --state-dir DIR      runs, audit log and keys (default /var/lib/hive-run as root)
  --capture            store stdout/stderr under the run directory
  --quiet, -q          errors only on stderr (no warnings or violation lines)
)";

int Fail(const std::string& message) {
  std::fprintf(stderr, "hive-run: %s\n", message.c_str());
  return 125;
}

ParsedRun ParseRunOptions(int argc, char** argv, bool stop_at_positional) {
  ParsedRun p;
  std::string state_flag;
  int i = 1;
  auto value = [&](std::string_view opt, std::string* out) {
    std::string_view arg = argv[i];
    if (arg.size() > opt.size() && arg[opt.size()] == '=') {
      *out = std::string(arg.substr(opt.size() + 1));
      return true;
    }
    if (i + 1 >= argc) {
      p.error = fmt::format("{} needs a value", opt);
      return false;
    }
    *out = argv[++i];
    return true;
  };
  auto is = [&](std::string_view opt) {
    std::string_view arg = argv[i];
    return arg == opt || (arg.size() > opt.size() && arg.substr(0, opt.size()) == opt &&
                          arg[opt.size()] == '=');
  };
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string v;
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.empty() || arg[0] != '-') {
      if (stop_at_positional) break;
      p.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--quiet" || arg == "-q") {
      p.quiet = true;
      p.request.quiet = true;
    } else if (arg == "--help" || arg == "-h") {
      p.help = true;
      return p;
    } else if (arg == "--json") {
      p.request.report_path = "-";  // the report on standard output
    } else if (arg == "--capture") {
      p.request.capture = true;
    } else if (is("--policy")) {
      if (!value("--policy", &p.request.policy_path)) return p;
    } else if (is("--report")) {
      if (!value("--report", &p.request.report_path)) return p;
      // `-` is standard output, not a file of that name.
      if (p.request.report_path != "-") {
        p.request.report_path = AbsolutePath(p.request.report_path, "");
      }
    } else if (is("--bind")) {
      if (!value("--bind", &v)) return p;
      p.request.binds.push_back(v);
    } else if (is("--env")) {
      if (!value("--env", &v)) return p;
      if (v.empty() || v[0] == '=') {
        p.error = fmt::format("--env: expected NAME=VALUE or NAME, got `{}`", v);
        return p;
      }
      if (v.find('=') == std::string::npos) {
        // `--env NAME` passes the host's value, as docker and podman do; an unset one is
        // refused rather than passed empty or dropped.
        const char* host = std::getenv(v.c_str());
        if (host == nullptr) {
          p.error = fmt::format("--env {}: {} is not set in hive-run's environment", v, v);
          return p;
        }
        v += std::string("=") + host;
      }
      p.request.env.push_back(v);
    } else if (is("--workdir")) {
      if (!value("--workdir", &p.request.workdir)) return p;
    } else if (is("--id")) {
      if (!value("--id", &p.request.run_id)) return p;
    } else if (is("--state-dir")) {
      if (!value("--state-dir", &state_flag)) return p;
    } else if (is("--timeout")) {
      // The policy's parser and ranges (base/user_text.h, hive/policy.h): no wrap-around.
      if (!value("--timeout", &v)) return p;
      Result<double> t =
          ParseQuantity(v, kDurationUnits, 0, static_cast<double>(kMaxSeconds), "seconds");
      if (t.ok() && *t == 0) {
        t = Error(Code::kInvalidArgument,
                  fmt::format("{} is out of range (more than 0, at most {})", v, kMaxSeconds));
      }
      if (!t.ok()) {
        p.error = fmt::format("--timeout (seconds): {}", t.status().message());
        return p;
      }
      p.request.timeout_seconds = *t;
    } else if (is("--memory") || is("--tmp-size")) {
      const std::string opt(arg.substr(0, arg.find('=')));
      if (!value(opt, &v)) return p;
      Result<double> mb = ParseQuantity(v, kSizeUnitsMiB, 1, static_cast<double>(kMaxMegabytes),
                                        "MiB", /*whole=*/true);
      if (!mb.ok()) {
        p.error = fmt::format("{} (MiB): {}", opt, mb.status().message());
        return p;
      }
      (opt == "--memory" ? p.request.memory_mb : p.request.tmp_size_mb) =
          static_cast<uint64_t>(*mb);
    } else if (is("--cpu-seconds")) {
      if (!value("--cpu-seconds", &v)) return p;
      Result<double> s = ParseQuantity(v, kDurationUnits, 1, static_cast<double>(kMaxSeconds),
                                       "seconds", /*whole=*/true);
      if (!s.ok()) {
        p.error = fmt::format("--cpu-seconds (seconds): {}", s.status().message());
        return p;
      }
      p.request.cpu_seconds = static_cast<uint64_t>(*s);
    } else if (is("--pids")) {
      if (!value("--pids", &v)) return p;
      Result<uint64_t> n = ParseUnsigned(v, 1, kMaxProcesses);
      if (!n.ok()) {
        p.error = fmt::format("--pids (processes and threads): {}", n.status().message());
        return p;
      }
      p.request.max_processes = *n;
    } else if (is("--owner")) {
      if (!value("--owner", &v)) return p;
      const size_t colon = v.find(':');
      Result<uint64_t> uid = ParseUnsigned(v.substr(0, colon), 0, kMaxId);
      Result<uint64_t> gid = colon == std::string::npos
                                 ? Result<uint64_t>(Error(Code::kInvalidArgument, "no GID"))
                                 : ParseUnsigned(v.substr(colon + 1), 0, kMaxId);
      if (!uid.ok() || !gid.ok()) {
        p.error = fmt::format("--owner: expected UID:GID (numbers), got {}: {}", Quoted(v),
                              (uid.ok() ? gid : uid).status().message());
        return p;
      }
      p.request.owner = OwnerIds{static_cast<uint32_t>(*uid), static_cast<uint32_t>(*gid)};
    } else {
      p.error = fmt::format("unknown option `{}` (see hive-run --help)", arg);
      return p;
    }
  }
  for (; i < argc; ++i) p.positional.emplace_back(argv[i]);
  p.request.state_dir = ResolveStateDir(state_flag);
  return p;
}

int ExecuteRun(const ParsedRun& parsed) {
  RunResult r = Run(parsed.request);
  if (!r.report.error.empty() && r.exit_status == 125) return Fail(r.report.error);
  if (!r.report.error.empty()) std::fprintf(stderr, "hive-run: %s\n", r.report.error.c_str());
  // At the level the run's policy set (log_level; --quiet: errors only).
  for (const std::string& w : r.report.warnings) HIVE_LOG(kWarning, "{}", w);
  if (r.report.outcome == Outcome::kTimeout) {
    HIVE_LOG(kWarning, "run {} stopped at the {}s timeout", r.report.run_id,
             r.report.limits.timeout_seconds);
  } else if (!r.report.killed_by.empty() && r.report.killed_by != "interrupted") {
    HIVE_LOG(kWarning, "run {} stopped: {}", r.report.run_id, r.report.killed_by);
  }
  // A limit that fired without ending the run (a child killed by the OOM killer, captured
  // output cut at file_size_mb) is said too, never only filed in the report.
  // So are calls the sandbox refused (network off, a blocked operation): one line each, in
  // place of a script's puzzling EPERM. --quiet silences them.
  for (const Violation& v : r.report.violations) {
    if (v.type == "limit") HIVE_LOG(kWarning, "run {}: limit: {}", r.report.run_id, v.detail);
    if (v.type == "network" || v.type == "blocked_operation") {
      HIVE_LOG(kWarning, "run {}: {} refused ({} time{}): {}", r.report.run_id,
               v.type == "network" ? "network access" : "blocked operation", v.count,
               v.count == 1 ? "" : "s", v.detail);
    }
  }
  return r.exit_status;
}

}  // namespace hive::cli
