// hive-run policy check|show|compile
#include <cstdio>
#include <iostream>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "hive/policy.h"
#include "hive/run.h"
#include "hive/spec_json.h"

namespace hive::cli {

int PolicyCommand(int raw_argc, char** raw_argv) {
  constexpr const char* kUsage = "policy: usage: hive-run policy check FILE | show [FILE] | "
                                 "compile [FILE] [-- CMD [ARG...]]";
  // The global --state-dir may stand before the verb; policies do not use it.
  std::vector<char*> args;
  for (int i = 0; i < raw_argc; ++i) {
    std::string_view a = raw_argv[i];
    if (a == "--state-dir" && i + 1 < raw_argc) {
      ++i;
      continue;
    }
    if (a.substr(0, 12) == "--state-dir=") continue;
    args.push_back(raw_argv[i]);
  }
  const int argc = static_cast<int>(args.size());
  char** argv = args.data();
  if (argc < 2) return Fail(kUsage);
  std::string_view verb = argv[1];
  std::string file = argc >= 3 && std::string_view(argv[2]) != "--" ? argv[2] : "";
  auto load = [&]() -> Result<Policy> {
    if (file.empty()) return DefaultPolicy();
    return LoadPolicyFile(file);
  };
  if (verb == "check") {
    if (file.empty()) return Fail(kUsage);
    auto p = load();
    if (!p.ok()) return Fail(p.status().message());
    if (Status s = CheckPolicyReferences(*p); !s.ok()) return Fail(s.message());
    std::printf("%s: ok\n", file.c_str());
    return 0;
  }
  if (verb == "show") {
    auto p = load();
    if (!p.ok()) return Fail(p.status().message());
    std::fputs(PolicyToYaml(*p).c_str(), stdout);
    return 0;
  }
  if (verb == "compile") {
    auto p = load();
    if (!p.ok()) return Fail(p.status().message());
    RunRequest req;
    req.mode = RunMode::kExec;
    req.run_id = "compile";
    for (int i = 2; i < argc; ++i) {
      if (std::string_view(argv[i]) == "--") {
        for (int k = i + 1; k < argc; ++k) req.command.emplace_back(argv[k]);
        break;
      }
    }
    if (req.command.empty()) req.command = {"/bin/sh"};
    auto spec = CompileRunSpec(*p, req, nullptr, nullptr);
    if (!spec.ok()) return Fail(spec.status().message());
    std::cout << RunSpecToOci(*spec).dump(2) << "\n";
    return 0;
  }
  return Fail(kUsage);
}

}  // namespace hive::cli
