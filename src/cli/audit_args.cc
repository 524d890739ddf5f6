#include "cli/audit_args.h"

#include <fmt/format.h>

#include "cli/run_options.h"
#include "hive/state_dir.h"

namespace hive::cli {

std::string AuditArgs::LogPath() const {
  if (Has("--log")) return AbsolutePath(Get("--log"), "");
  return ResolveStateDir(Get("--state-dir")) + "/audit.log";
}

std::string AuditArgs::KeyDir() const { return ResolveStateDir(Get("--state-dir")) + "/keys"; }

Result<AuditArgs> ParseAuditArgs(int argc, char** argv, const std::set<std::string>& with_value,
                                 const std::set<std::string>& flags) {
  AuditArgs args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') {
      args.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(0, arg.find('='));
    bool inline_value = name.size() != arg.size();
    if (flags.count(name) && !inline_value) {
      args.values[name] = "";
    } else if (with_value.count(name)) {
      if (inline_value) {
        args.values[name] = arg.substr(name.size() + 1);
      } else if (i + 1 < argc) {
        args.values[name] = argv[++i];
      } else {
        return Error(Code::kInvalidArgument, fmt::format("option `{}` needs a value", name));
      }
    } else {
      return Error(Code::kInvalidArgument, fmt::format("unknown option `{}`", arg));
    }
  }
  return args;
}

int FailStatus(const std::string& what, const Status& status) {
  return Fail(what + ": " + status.message());
}

}  // namespace hive::cli
