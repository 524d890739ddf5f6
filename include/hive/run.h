// hive::Run: the whole pipeline for one run — policy → RunSpec → sandbox → report → audit.
//
// This is what `hive-run script|exec|BUNDLE` and hive::Executor call. A run never throws: a
// refusal or setup failure is a report with outcome `setup_error` and exit status 125.
//
//   hive::RunRequest req;
//   req.mode = hive::RunMode::kScript;
//   req.command = {"job.py", "world"};
//   hive::RunResult r = hive::Run(req);
//   return r.exit_status;
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hive/audit.h"
#include "hive/bundle.h"
#include "hive/policy.h"
#include "hive/report.h"
#include "hive/run_spec.h"

namespace hive {

enum class RunMode { kScript, kExec, kBundle };

struct RunRequest {
  RunMode mode = RunMode::kExec;
  std::string policy_path;           // empty: the bundle's policy.yml, else the built-in policy
  std::vector<std::string> command;  // exec: CMD ARGS; script: FILE ARGS; bundle: override args
  std::string bundle_dir;
  std::vector<std::string> binds;  // "SRC:DST[:rw]"
  std::vector<std::string> env;    // "NAME=VALUE"
  std::string workdir;
  std::optional<double> timeout_seconds;
  std::optional<uint64_t> memory_mb;
  std::optional<uint64_t> max_processes;  // --pids
  std::optional<uint64_t> cpu_seconds;    // --cpu-seconds
  std::optional<uint64_t> tmp_size_mb;    // --tmp-size
  std::optional<OwnerIds> owner;          // --owner UID:GID: host owner of writable binds
  std::string run_id;     // generated when empty
  std::string state_dir;  // resolved by the caller (hive::ResolveStateDir)
  bool capture = false;   // stdout/stderr to runs/<id>/logs/ instead of passing through
  std::string report_path;
  bool quiet = false;  // log errors only, whatever the policy's log_level
};

struct RunResult {
  RunReport report;
  int exit_status = 125;
};

RunResult Run(const RunRequest& request);

// Whether run `run_id` of `state_dir` has a live supervisor now.
bool RunUnderWay(const std::string& state_dir, const std::string& run_id);

// Records, in the audit log each one was bound for, the runs of `state_dir` whose supervisor
// died before writing their record (outcome `supervisor_lost`, or the run's own report when
// only the record failed), and removes what they left. `open_log` is reused when it is the
// log a lost run names. Run() calls it after each run; `hive-run runs clean` too.
Status RecordLostRuns(const std::string& state_dir, audit::AuditLog* open_log = nullptr,
                      std::vector<std::string>* recorded = nullptr);

// Interpreter for a script by extension or shebang: {"/usr/bin/python3"} or {"/bin/sh"}...
Result<std::vector<std::string>> InterpreterFor(const std::string& script_path);

}  // namespace hive
