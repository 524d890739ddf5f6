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
      if (v.empty() || v[0] == '=' || v.find('=') == std::string::npos) {
        p.error = fmt::format("--env: expected NAME=VALUE, got `{}`", v);
        return p;
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
      Result<double> t = ParseDecimal(v, 0, static_cast<double>(kMaxSeconds));
      if (t.ok() && *t == 0) {
        t = Error(Code::kInvalidArgument,
                  fmt::format("{} is out of range (more than 0, at most {})", v, kMaxSeconds));
      }
      if (!t.ok()) {
        p.error = fmt::format("--timeout (seconds): {}", t.status().message());
        return p;
      }
      p.request.timeout_seconds = *t;
    } else if (is("--memory")) {
      if (!value("--memory", &v)) return p;
      Result<uint64_t> mb = ParseUnsigned(v, 1, kMaxMegabytes);
      if (!mb.ok()) {
        p.error = fmt::format("--memory (MiB): {}", mb.status().message());
        return p;
      }
      p.request.memory_mb = *mb;
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
  for (const Violation& v : r.report.violations) {
    if (v.type == "limit") HIVE_LOG(kWarning, "run {}: limit: {}", r.report.run_id, v.detail);
  }
  return r.exit_status;
}

}  // namespace hive::cli
