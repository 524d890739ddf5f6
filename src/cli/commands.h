// One entry point per subcommand; each parses its own arguments (argv[0] is the subcommand
// name) and returns the process exit status. No sandbox logic lives in src/cli/.
#pragma once

namespace hive::cli {

int RunBundleCommand(int argc, char** argv);  // hive-run [OPTIONS] BUNDLE [-- CMD ...]
int ScriptCommand(int argc, char** argv);     // hive-run script
int ExecCommand(int argc, char** argv);       // hive-run exec (the CI sandbox)
// hive-run exec: the CI sandbox or the runc form (exec_dispatch.cc says which).
int ExecEitherCommand(int argc, char** argv);
int PolicyCommand(int argc, char** argv);     // hive-run policy check|show|compile
int BundleCommand(int argc, char** argv);     // hive-run bundle init
int RunsCommand(int argc, char** argv);       // hive-run runs list|show|clean
int AuditCommand(int argc, char** argv);      // hive-run audit verify|show|head|keygen
int StatsCommand(int argc, char** argv);      // hive-run stats
int AnalyzeCommand(int argc, char** argv);    // hive-run analyze
int CheckCommand(int argc, char** argv);      // hive-run check
int SelftestCommand(int argc, char** argv);   // hive-run selftest

// The runc command line (oci_commands.cc).
int OciCreateCommand(int argc, char** argv);
int OciStartCommand(int argc, char** argv);
int OciStateCommand(int argc, char** argv);
int OciKillCommand(int argc, char** argv);
int OciDeleteCommand(int argc, char** argv);
int OciRunCommand(int argc, char** argv);
int OciExecCommand(int argc, char** argv);
int OciListCommand(int argc, char** argv);
int OciSpecCommand(int argc, char** argv);
int OciPsCommand(int argc, char** argv);
int OciPauseCommand(int argc, char** argv);
int OciResumeCommand(int argc, char** argv);
int OciFeaturesCommand(int argc, char** argv);
int OciUpdateCommand(int argc, char** argv);

}  // namespace hive::cli
