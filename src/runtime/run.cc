// The run pipeline: request → policy/OCI front ends → RunSpec → container → report, run
// directory, audit.
#include "hive/run.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "base/files.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "hive/analyze.h"
#include "hive/audit.h"
#include "hive/command_check.h"
#include "hive/state_dir.h"
#include "runtime/live_run.h"
#include "runtime/report_builder.h"
#include "supervisor/container.h"

namespace hive {
namespace {

std::string NewRunId() {
  unsigned char rnd[4];
  randombytes_buf(rnd, sizeof rnd);
  char hex[sizeof rnd * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
  std::string t = Rfc3339Now();  // 2026-11-23T07:44:28.123Z → 20261123-074428
  std::string stamp;
  for (char c : t.substr(0, 19)) {
    if (c == 'T') stamp += '-';
    else if (c != '-' && c != ':') stamp += c;
  }
  return stamp + "-" + hex;
}

bool ValidRunId(const std::string& id) {
  if (id.empty() || id.size() > 64 || id[0] == '.') return false;
  for (char c : id) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// The run directory exists only for runs that started; a refused run leaves nothing.
class RunDir {
 public:
  explicit RunDir(std::string path) : path_(std::move(path)) {}
  ~RunDir() {
    if (!keep_ && !path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// `--report PATH`: `-` is standard output. A regular file (or a new one) is replaced
// atomically; anything else — a symlink such as /dev/stdout, a FIFO, a device — is written
// through, never renamed over.
Status WriteReport(const std::string& path, const std::string& json) {
  if (path == "-") return WriteAll(STDOUT_FILENO, json, "standard output");
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return WriteFileAtomic(path, json);
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return Errno(fmt::format("open report `{}`", path));
  struct stat target;
  if (fstat(fd.get(), &target) == 0 && S_ISREG(target.st_mode) && ftruncate(fd.get(), 0) != 0) {
    return Errno(fmt::format("truncate report `{}`", path));
  }
  return WriteAll(fd.get(), json, path);
}

Status Prepare(const RunRequest& req, const std::string& run_id, Policy* policy,
               std::optional<Bundle>* bundle, std::string* script_abs) {
  if (req.mode == RunMode::kBundle) {
    HIVE_ASSIGN_OR_RETURN(Bundle b, LoadBundle(req.bundle_dir));
    *bundle = std::move(b);
  }
  if (!req.policy_path.empty()) {
    HIVE_ASSIGN_OR_RETURN(*policy, LoadPolicyFile(req.policy_path));
  } else if (bundle->has_value()) {
    HIVE_ASSIGN_OR_RETURN(*policy, LoadBundlePolicy(**bundle));
  } else {
    *policy = DefaultPolicy();
  }
  if (req.mode == RunMode::kScript) {
    if (req.command.empty()) return Error(Code::kInvalidArgument, "script: no script given");
    *script_abs = AbsolutePath(req.command[0], "");
    struct stat st;
    if (stat(script_abs->c_str(), &st) != 0) {
      return Errno(fmt::format("script `{}`", req.command[0]));
    }
    if (!S_ISREG(st.st_mode)) {
      return Error(Code::kInvalidArgument,
                   fmt::format("script `{}` is not a regular file", req.command[0]));
    }
  }
  if (req.mode == RunMode::kExec && req.command.empty()) {
    return Error(Code::kInvalidArgument, "exec: no command given (hive-run exec -- CMD [ARG...])");
  }
  (void)run_id;
  return Ok();
}

}  // namespace

RunResult Run(const RunRequest& req) {
  RunResult result;
  RunReport& report = result.report;
  report.run_id = req.run_id.empty() ? NewRunId() : req.run_id;
  report.started_at = Rfc3339Now();
  report.outcome = Outcome::kSetupError;
  auto refuse = [&](const Status& s) {
    report.error = s.message();
    result.exit_status = 125;
    if (!req.report_path.empty()) {
      (void)WriteReport(req.report_path, ReportToJson(report).dump(2) + "\n");
    }
    return result;
  };
  if (!ValidRunId(report.run_id)) {
    return refuse(Error(Code::kInvalidArgument,
                        fmt::format("--id: `{}` is not a valid run id ([A-Za-z0-9_.-], at most "
                                    "64 characters)",
                                    report.run_id)));
  }
  if (sodium_init() < 0) return refuse(Error(Code::kInternal, "libsodium failed to initialise"));

  Policy policy;
  std::optional<Bundle> bundle;
  std::string script;
  if (Status s = Prepare(req, report.run_id, &policy, &bundle, &script); !s.ok()) return refuse(s);
  report.policy = policy.source;
  report.policy_sha256 = policy.sha256;
  report.limits = policy.execution;
  // The policy's log_level drives what this run says on stderr from here on.
  log::Level level = log::Level::kInfo;
  (void)log::LevelFromName(policy.monitoring.log_level, &level);
  log::SetLevel(req.quiet ? std::max(level, log::Level::kError) : level);

  auto open_audit = [&] {
    return audit::AuditLog::Open(
        AuditLogPath(policy.audit.log, req.state_dir),
        req.state_dir + "/keys");
  };
  std::optional<audit::AuditLog> audit_log;
  // HOOK(audit): appends the run's records (one per violation, then the run) and fills
  // report.audit. A run whose record cannot be written fails (125), whatever the payload did.
  Status audit_failed;
  auto record_audit = [&] {
    if (!audit_log) {
      auto log = open_audit();
      if (!log.ok()) {
        audit_failed = log.status().Wrap("the run's audit record could not be written");
        return;
      }
      audit_log.emplace(std::move(log).value());
    }
    if (auto ref = audit::RecordRun(*audit_log, report); ref.ok()) {
      report.audit = {ref->log, ref->seq, ref->hash};
    } else {
      audit_failed = ref.status().Wrap("the run's audit record could not be written");
    }
  };

  // A script is read once: the bytes analysed, hashed and copied in to run are the same.
  std::string script_text;
  std::vector<std::string> interpreter;
  if (req.mode == RunMode::kScript) {
    auto text = ReadInputFile(script, kScriptInput);
    if (!text.ok()) return refuse(text.status());
    script_text = std::move(text).value();
    report.script = script;
    report.script_sha256 = Sha256Hex(script_text);
    auto interp = InterpreterFor(script);
    if (!interp.ok()) return refuse(interp.status());
    interpreter = std::move(interp).value();
  }

  // HOOK(analyze): static analysis of the script; policy analysis.refuse_at refuses here.
  if (!interpreter.empty() && analyze::IsPythonInterpreter(interpreter.front())) {
    const analyze::Analysis analysis = analyze::AnalyzePython(script_text, &policy);
    report.static_analysis = analyze::ToJson(analysis);
    if (std::string why = analyze::RefusalFor(analysis, policy); !why.empty()) {
      // Refused before it ran: recorded as `refused` in the audit log.
      report.outcome = Outcome::kBlocked;
      report.error = why;
      record_audit();
      if (!audit_failed.ok()) return refuse(audit_failed);
      return refuse(Error(Code::kFailedPrecondition, why));
    }
  }

  // HOOK(allowlist): the policy's process.allowed_binaries (the seeds' SecureRunner) is
  // enforced here, with the checks `hive-run check` makes: a command given as one string is
  // split (shell syntax refused), the program must be allowed by name or lie in a tools
  // directory, and arguments must not make it run other code. Refused: 126, and the reason.
  std::vector<std::string> exec_command = req.command;
  if (req.mode == RunMode::kExec && policy.process.allowed_binaries) {
    CommandCheckOptions check;
    check.allowed = *policy.process.allowed_binaries;
    check.tools_dirs = policy.process.tools_dirs;
    CommandVerdict verdict = CheckCommand(req.command, check);
    auto refuse_command = [&](const CommandVerdict& v) {
      std::string why = fmt::format("exec: refused by {} (security.process.allowed_binaries): {}",
                                    policy.source, fmt::join(v.reasons, "; "));
      report.outcome = Outcome::kBlocked;
      report.error = why;
      record_audit();
      if (!audit_failed.ok()) return refuse(audit_failed);
      RunResult refused = refuse(Error(Code::kPermissionDenied, why));
      refused.exit_status = 126;
      return refused;
    };
    if (!verdict.allowed) return refuse_command(verdict);
    // What runs is what was checked: the program by its real path, the split arguments. A
    // --bind over that path (or a directory above it) would run another file in its place.
    for (const std::string& b : req.binds) {
      const size_t c1 = b.find(':');
      if (c1 == std::string::npos) continue;
      const std::string rest = b.substr(c1 + 1);
      const std::string dst = AbsolutePath(rest.substr(0, rest.find(':')), "/");
      if (verdict.program == dst ||
          (verdict.program.size() > dst.size() && verdict.program.compare(0, dst.size(), dst) == 0 &&
           (dst == "/" || verdict.program[dst.size()] == '/'))) {
        verdict.allowed = false;
        verdict.reasons.push_back(
            fmt::format("--bind `{}` replaces `{}`, the program the allowlist admitted", b,
                        verdict.program));
      }
    }
    if (!verdict.allowed) return refuse_command(verdict);
    exec_command = verdict.argv;
    exec_command[0] = verdict.program;
  }

  // From here on the run leaves state; until its record is written, a mark says it is under
  // way, so that a supervisor killed at any moment is found and recorded by a later hive-run.
  const std::string audit_path = AuditLogPath(policy.audit.log, req.state_dir);
  nlohmann::json mark = {{"run_id", report.run_id},
                         {"started_at", report.started_at},
                         {"supervisor_pid", getpid()},
                         {"command", req.command},
                         {"audit_log", AbsolutePath(audit_path, "")},
                         {"key_dir", AbsolutePath(req.state_dir + "/keys", "")},
                         {"policy_sha256", report.policy_sha256}};
  if (!report.script.empty()) {
    mark["script"] = report.script;
    mark["script_sha256"] = report.script_sha256;
  }
  if (bundle) mark["bundle"] = bundle->dir;
  if (!req.report_path.empty() && req.report_path != "-") mark["report"] = req.report_path;
  auto live = LiveRun::Begin(req.state_dir, report.run_id, mark);
  if (!live.ok()) return refuse(live.status());

  const std::string runs = req.state_dir + "/runs";
  struct {
    std::string run_dir, input, output, logs;
  } paths;
  paths.run_dir = runs + "/" + report.run_id;
  paths.input = paths.run_dir + "/input";
  paths.output = paths.run_dir + "/output";
  paths.logs = paths.run_dir + "/logs";
  if (Status s = EnsureDir(runs, 0700); !s.ok()) return refuse(s.Wrap("state directory"));
  if (mkdir(paths.run_dir.c_str(), 0700) != 0) {
    return refuse(Errno(fmt::format("create run directory `{}`", paths.run_dir)));
  }
  RunDir run_dir(paths.run_dir);
  for (const std::string& d : {paths.input, paths.output, paths.logs}) {
    if (mkdir(d.c_str(), 0755) != 0) return refuse(Errno(fmt::format("create `{}`", d)));
  }
  SandboxRequest sandbox;
  sandbox.run_id = report.run_id;
  sandbox.command = exec_command;
  sandbox.binds = req.binds;
  if (req.mode == RunMode::kExec && policy.process.allowed_binaries) {
    // The tools directories are where allowed programs live: visible, read-only.
    for (const std::string& d : policy.process.tools_dirs) {
      struct stat st;
      if (stat(d.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) sandbox.binds.push_back(d + ":" + d);
    }
  }
  sandbox.env = req.env;
  sandbox.workdir = req.workdir;
  sandbox.timeout_seconds = req.timeout_seconds;
  sandbox.memory_mb = req.memory_mb;
  sandbox.max_processes = req.max_processes;
  sandbox.cpu_seconds = req.cpu_seconds;
  sandbox.tmp_size_mb = req.tmp_size_mb;
  sandbox.owner = req.owner;
  if (req.mode != RunMode::kBundle) {
    sandbox.input_dir = paths.input;
    sandbox.output_dir = paths.output;
  }
  if (req.mode == RunMode::kScript) {
    std::string name = script.substr(script.rfind('/') + 1);
    Status copied = WriteFileAtomic(paths.input + "/" + name, script_text, 0644, Sync::kNoSync);
    if (!copied.ok()) return refuse(copied);
    // The script runs in the caller's directory, as it would without hive-run: relative
    // paths and sibling modules work. That directory and the script's own are visible
    // read-only (writable only where the policy allows).
    const std::string cwd = AbsolutePath(".", "");
    const std::string script_dir = script.substr(0, script.rfind('/'));
    for (const std::string& d : {cwd, script_dir}) {
      // Not "/" (the whole host), nor what the sandbox has of its own (/tmp, /proc, /dev).
      if (d.empty() || d == "/" || d == "/tmp" || d.rfind("/proc", 0) == 0 ||
          d.rfind("/sys", 0) == 0 || d.rfind("/dev", 0) == 0 || d.rfind("/run/hive", 0) == 0) {
        continue;
      }
      if (std::find(sandbox.read_only_dirs.begin(), sandbox.read_only_dirs.end(), d) ==
          sandbox.read_only_dirs.end()) {
        sandbox.read_only_dirs.push_back(d);
      }
    }
    if (req.workdir.empty() && cwd != "/") sandbox.workdir = cwd;
    if (analyze::IsPythonInterpreter(interpreter.front()) && script_dir != "" &&
        script_dir != "/") {
      // The copy runs from /run/hive/input; its own directory's modules stay importable.
      sandbox.env.insert(sandbox.env.begin(), "PYTHONPATH=" + script_dir);
    }
    std::vector<std::string> cmd = interpreter;
    cmd.push_back("/run/hive/input/" + name);
    cmd.insert(cmd.end(), req.command.begin() + 1, req.command.end());
    sandbox.command = cmd;
  }
  if (bundle) report.bundle = bundle->dir;

  auto spec = CompileRunSpec(policy, sandbox, bundle ? &bundle->config : nullptr);
  if (!spec.ok()) return refuse(spec.status());
  spec->hive.payload_ignores_sigxfsz =
      !spec->process.args.empty() && analyze::IsPythonInterpreter(spec->process.args.front());
  // The sandbox writes output/ through an idmapped mount as the invoking user.
  if (chown(paths.output.c_str(), spec->hive.owner_uid, static_cast<gid_t>(-1)) != 0) {
    return refuse(Errno("chown output directory"));
  }

  // HOOK(audit): open the audit log; a run that cannot be audited does not start (125). It is
  // opened while the child sets itself up, before the payload may exec.
  ContainerOptions opts;
  Status audit_error;
  opts.before_exec = [&]() -> Status {
    auto log = open_audit();
    if (!log.ok()) return audit_error = log.status().Wrap("refusing to run unaudited");
    // The space the run's records need is set aside now: the final append cannot then fail
    // for want of it, after the payload has run.
    if (Status s = log->Reserve(); !s.ok()) {
      return audit_error = s.Wrap("refusing to run unaudited");
    }
    audit_log.emplace(std::move(log).value());
    return Ok();
  };
  opts.seccomp_cache_dir = req.state_dir + "/cache/seccomp";
  if (req.capture) {
    opts.stdout_path = paths.logs + "/stdout";
    opts.stderr_path = paths.logs + "/stderr";
  }
  const std::string script_path = report.script, script_sha = report.script_sha256;
  const std::string bundle_dir = report.bundle;
  const nlohmann::json analysis = report.static_analysis;
  report = RunReport{};
  report.script = script_path;
  report.script_sha256 = script_sha;
  report.bundle = bundle_dir;
  report.static_analysis = analysis;
  StartReport(*spec, &report);
  report.warnings = spec->hive.warnings;
  auto container = Container::Create(*spec, opts);
  if (!container.ok()) {
    // Refused or failed before the payload could run: nothing of the user's ran. A run that
    // cannot be audited leaves nothing; any other is recorded as a setup error.
    if (!audit_error.ok()) return refuse(audit_error);
    report.started_at = Rfc3339Now();
    report.outcome = Outcome::kSetupError;
    report.error = container.status().message();
    const int err = container.status().err();
    if (geteuid() != 0 && (err == EPERM || err == EACCES)) {
      // What an unprivileged caller can do about it, before the step that failed.
      report.error = fmt::format(
          "needs root (or: `sudo hive-run ...`; as uid {} this host does not let hive-run "
          "build the sandbox): {}",
          geteuid(), report.error);
    }
  } else {
    Container& c = **container;
    ReportEnforced(*spec, c, &report);
    report.warnings.clear();  // the container's result carries the spec's warnings
    (void)c.Start();
    c.Monitor();
    FinishReport(*spec, c.Collect(), &report);
  }
  result.exit_status = ExitStatusFor(report);

  // A run that failed before the log was needed still leaves its record.
  record_audit();
  const bool ran = report.outcome != Outcome::kSetupError && report.error.empty();
  if (!audit_failed.ok()) {
    // The payload ran, but nothing vouches for it: the run fails, and says why. Its mark
    // keeps the report, so the next hive-run that can write the log records it late.
    report.error = audit_failed.message();
    result.exit_status = 125;
    nlohmann::json unrecorded = ReportToJson(report);
    unrecorded.erase("audit");
    mark["unrecorded_report"] = unrecorded;
    (void)live->Rewrite(mark);
    live->Release();
  } else {
    live->End();
    // Runs whose supervisor died (killed, crashed) are recorded by the next run that ends.
    (void)RecordLostRuns(req.state_dir, audit_log ? &*audit_log : nullptr);
  }

  if (!ran && req.report_path.empty()) return result;
  const std::string json = ReportToJson(report).dump(2) + "\n";
  if (ran) {
    run_dir.Keep();
    // Not fsynced: the audit record, appended durably above, is the run's record of truth.
    (void)WriteFileAtomic(paths.logs + "/execution.json", json, 0644, Sync::kNoSync);
  }
  if (!req.report_path.empty()) {
    if (Status s = WriteReport(req.report_path, json); !s.ok()) {
      report.warnings.push_back(s.message());
    }
  }
  return result;
}

}  // namespace hive
