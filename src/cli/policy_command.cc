// hive-run policy check|show|compile
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "hive/policy.h"
#include "hive/run.h"
#include "hive/spec_json.h"

namespace hive::cli {

int PolicyCommand(int raw_argc, char** raw_argv) {
  constexpr const char* kUsage = "policy: usage: hive-run policy check FILE | show [FILE] | "
                                 "compile [--bundle DIR] [FILE] [-- CMD [ARG...]]";
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
  std::string file, bundle_dir;
  std::vector<std::string> command;
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      for (int k = i + 1; k < argc; ++k) command.emplace_back(argv[k]);
      break;
    }
    if (verb == "compile" && a == "--bundle" && i + 1 < argc) {
      bundle_dir = argv[++i];
    } else if (verb == "compile" && a.substr(0, 9) == "--bundle=") {
      bundle_dir = std::string(a.substr(9));
    } else if (file.empty() && !a.empty() && a[0] != '-') {
      file = a;
    } else {
      return Fail(kUsage);
    }
  }
  auto load = [&]() -> Result<Policy> {
    if (file.empty()) return DefaultPolicy();
    return LoadPolicyFile(file);
  };
  if (verb == "check") {
    if (file.empty()) return Fail(kUsage);
    auto p = load();
    if (!p.ok()) return Fail(p.status().message());
    if (Status s = CheckPolicyReferences(*p); !s.ok()) return Fail(s.message());
    // A path that does not exist is not bound, and a script writing there fails at run time:
    // said now, with the path it resolved to (relative entries: see RelativePathBase).
    int missing = 0;
    for (const auto* list : {&p->filesystem.allowed_paths, &p->filesystem.read_only_paths}) {
      for (const std::string& path : *list) {
        if (path == "/tmp" || access(path.c_str(), F_OK) == 0) continue;
        ++missing;
        std::fprintf(stderr,
                     "hive-run: warning: %s: security.filesystem.%s: `%s` does not exist; "
                     "a run will not bind it\n",
                     file.c_str(),
                     list == &p->filesystem.allowed_paths ? "allowed_paths" : "read_only_paths",
                     path.c_str());
      }
    }
    std::printf("%s: ok%s\n", file.c_str(),
                missing ? fmt::format(" ({} warning{})", missing, missing == 1 ? "" : "s").c_str()
                        : "");
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
    SandboxRequest req;
    req.run_id = "compile";
    req.command = command.empty() ? std::vector<std::string>{"/bin/sh"} : command;
    auto spec = CompileRunSpec(*p, req);
    if (!spec.ok()) return Fail(spec.status().message());
    if (!bundle_dir.empty()) {
      if (Status s = WriteBundle(*spec, bundle_dir); !s.ok()) {
        return Fail(s.Wrap("policy compile --bundle").message());
      }
      std::printf("wrote %s/config.json%s\n", bundle_dir.c_str(),
                  spec->root.path.empty() ? " and its rootfs" : "");
      return 0;
    }
    auto config = RunSpecToOci(*spec);
    if (!config.ok()) return Fail(config.status().message());
    std::cout << config->dump(2) << "\n";
    return 0;
  }
  return Fail(kUsage);
}

}  // namespace hive::cli
