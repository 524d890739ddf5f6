// hive-run: dispatch to one subcommand. Arguments are parsed by the subcommand itself.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "cli/commands.h"

namespace {

constexpr const char* kUsage = R"(usage:
  hive-run [OPTIONS] BUNDLE [-- CMD [ARG...]]   run an OCI bundle under a policy
  hive-run script [OPTIONS] FILE [ARG...]       run a script with its interpreter
  hive-run exec [OPTIONS] -- CMD [ARG...]       run a host command in the built-in sandbox
  hive-run analyze [--policy P] [--json] FILE   static analysis of a script
  hive-run check [--policy P] -- CMD [ARG...]   validate a command without running it
  hive-run policy check|show|compile [FILE]     validate / effective values / RunSpec
  hive-run bundle init --template NAME DIR      make a runnable bundle
  hive-run runs list|show ID|clean [--keep-logs]
  hive-run audit verify|show|head|keygen        the signed audit log
  hive-run stats [--json]                       executions, violations, alerts
  hive-run selftest                             kernel features and attack probes

OCI runtime (runc command line; global --root DIR --log FILE --log-format text|json --debug):
  create [--bundle B] [--pid-file F] [--preserve-fds N] ID   start ID   state ID
  kill [--all] ID [SIGNAL]   delete [--force] ID   run [--detach] [--bundle B] ID
  exec [--process F] [--detach] [--pid-file F] [--cwd D] [-e K=V] [-u UID[:GID]] ID [ARGS...]
  list [--format json] [-q]   ps [--format json] ID   pause ID   resume ID
  spec [--rootless]   features

common run options: --policy FILE --report FILE --timeout S --memory MB --bind SRC:DST[:rw]
  --env NAME=VALUE --workdir DIR --id ID --state-dir DIR --capture --quiet
)";

struct Subcommand {
  std::string_view name;
  int (*fn)(int, char**);
};

constexpr Subcommand kSubcommands[] = {
    {"script", hive::cli::ScriptCommand},   {"exec", hive::cli::ExecEitherCommand},
    {"policy", hive::cli::PolicyCommand},   {"bundle", hive::cli::BundleCommand},
    {"runs", hive::cli::RunsCommand},       {"audit", hive::cli::AuditCommand},
    {"stats", hive::cli::StatsCommand},     {"analyze", hive::cli::AnalyzeCommand},
    {"check", hive::cli::CheckCommand},     {"selftest", hive::cli::SelftestCommand},
    {"run-bundle", hive::cli::RunBundleCommand},
    {"create", hive::cli::OciCreateCommand},  {"start", hive::cli::OciStartCommand},
    {"state", hive::cli::OciStateCommand},    {"kill", hive::cli::OciKillCommand},
    {"delete", hive::cli::OciDeleteCommand},  {"run", hive::cli::OciRunCommand},
    {"list", hive::cli::OciListCommand},      {"spec", hive::cli::OciSpecCommand},
    {"features", hive::cli::OciFeaturesCommand}, {"ps", hive::cli::OciPsCommand},
    {"pause", hive::cli::OciPauseCommand},    {"resume", hive::cli::OciResumeCommand},
    {"update", hive::cli::OciUpdateCommand},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 125 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::puts("hive-run 0.1.0");
    return 0;
  }
  // Global options may come before the subcommand (`hive-run --state-dir D exec ...`); they
  // are handed to the subcommand, which parses them with its own options.
  int i = 1;
  while (i < argc && argv[i][0] == '-' && std::strcmp(argv[i], "--") != 0) {
    std::string_view opt = argv[i];
    bool takes_value = opt.find('=') == std::string_view::npos && opt != "--quiet" && opt != "--capture" &&
                       opt != "--json" && opt != "--keep-logs" && opt != "--debug" &&
                       opt != "--systemd-cgroup";
    i += takes_value ? 2 : 1;
  }
  if (i < argc) {
    for (const Subcommand& s : kSubcommands) {
      if (s.name == argv[i]) {
        // Rotate the subcommand name to the front: argv = [name, global opts..., rest...].
        char* name = argv[i];
        for (int k = i; k > 1; --k) argv[k] = argv[k - 1];
        argv[1] = name;
        return s.fn(argc - 1, argv + 1);
      }
    }
  }
  return hive::cli::RunBundleCommand(argc, argv);
}
