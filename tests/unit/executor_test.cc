// hive::Executor without privileges: validation, analysis, stats, and a run the policy refuses
// before any sandbox exists. Real sandboxed runs are in tests/integration/test_executor.py.
#include "hive/executor.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "temp_dir.h"

namespace {

using hive::testing::TempDir;

hive::Executor Make(const TempDir& t, const std::string& policy_yaml = "") {
  hive::ExecutorOptions o;
  o.state_dir = t.path() + "/state";
  if (!policy_yaml.empty()) o.policy_path = t.Write("policy.yml", policy_yaml);
  auto ex = hive::Executor::Create(o);
  REQUIRE_MESSAGE(ex.ok(), ex.status().message());
  return std::move(ex).value();
}

}  // namespace

TEST_CASE("Create loads the policy once and reports its errors") {
  TempDir t;
  hive::ExecutorOptions o;
  o.policy_path = t.Write("bad.yml", "security:\n  execution:\n    memory_mb: lots\n");
  auto ex = hive::Executor::Create(o);
  REQUIRE_FALSE(ex.ok());
  CHECK(ex.status().message().find("security.execution.memory_mb") != std::string::npos);
  CHECK(Make(t).policy().source == "<built-in>");
}

TEST_CASE("ValidateScript: what would not run") {
  TempDir t;
  hive::Executor ex = Make(t, "security:\n  analysis:\n    refuse_at: high\n");
  CHECK(ex.ValidateScript(t.Write("ok.py", "print('eval is a word')\n")).valid);
  CHECK(ex.ValidateScript(t.Write("job.sh", "echo hi\n")).valid);

  hive::ScriptValidation v = ex.ValidateScript("/etc/passwd");  // the seeds' example
  CHECK_FALSE(v.valid);
  REQUIRE(v.problems.size() == 1);
  CHECK(v.problems[0].find("no interpreter") != std::string::npos);

  CHECK_FALSE(ex.ValidateScript(t.path() + "/missing.py").valid);
  CHECK_FALSE(ex.ValidateScript(t.path()).valid);

  v = ex.ValidateScript(t.Write("bad.py", "import os\nos.system('rm -rf ' + x)\n"));
  CHECK_FALSE(v.valid);
  REQUIRE_FALSE(v.problems.empty());
  CHECK(v.problems[0].find("security.analysis.refuse_at") != std::string::npos);

  v = ex.ValidateScript(t.Write("broken.py", "x = 'unterminated\n"));
  CHECK_FALSE(v.valid);
  CHECK(v.problems[0].find("syntax: 1:5: unterminated string") == 0);
}

TEST_CASE("AnalyzeScriptSecurity includes compatibility with the executor's policy") {
  TempDir t;
  hive::Executor ex = Make(t, "security:\n  network:\n    allowed_domains: []\n");
  auto a = ex.AnalyzeScriptSecurity(
      t.Write("net.py", "import urllib.request\nurllib.request.urlopen('http://example.com')\n"));
  REQUIRE(a.ok());
  CHECK(a->risk_level == "medium");
  REQUIRE(a->compatibility.has_value());
  CHECK_FALSE(a->compatibility->compatible);
  CHECK(a->compatibility->issues[0].policy_key == "security.network.allowed_domains");
  CHECK_FALSE(ex.AnalyzeScriptSecurity(t.path() + "/none.py").ok());
}

TEST_CASE("GetSecurityStats on a fresh state directory counts nothing") {
  TempDir t;
  hive::Executor ex = Make(t);
  auto s = ex.GetSecurityStats();
  REQUIRE(s.ok());
  CHECK((*s)["monitoring_stats"]["total_executions"] == 0);
  CHECK((*s)["monitoring_stats"]["security_violations"] == 0);
  CHECK((*s)["recent_alerts"].empty());
}

TEST_CASE("ExecuteScript: a refused script never runs, and the refusal is audited") {
  TempDir t;
  hive::Executor ex = Make(t, "security:\n  analysis:\n    refuse_at: critical\n");
  std::string marker = t.path() + "/ran";
  std::string script = t.Write("evil.py", "open('" + marker + "', 'w').close()\neval(input())\n");
  hive::ExecutionResult r = ex.ExecuteScript(script, {"arg"}, 5);
  CHECK_FALSE(r.success);
  CHECK(r.return_code == 125);
  CHECK(r.report.outcome == hive::Outcome::kBlocked);
  CHECK(r.error.find("line 2") != std::string::npos);
  CHECK(r.static_analysis["risk_level"] == "critical");
  CHECK(::access(marker.c_str(), F_OK) != 0);
  bool analysis_failed = false;
  for (const hive::SecurityCheck& c : r.security_checks) {
    if (c.name == "static_analysis") analysis_failed = !c.passed;
  }
  CHECK(analysis_failed);
  nlohmann::json j = hive::ExecutionResultToJson(r);
  CHECK(j["outcome"] == "blocked");
  CHECK(j["return_code"] == 125);
  CHECK(j.contains("resource_usage"));

  auto s = ex.GetSecurityStats();
  REQUIRE(s.ok());
  CHECK((*s)["monitoring_stats"]["total_executions"] == 1);
  CHECK((*s)["monitoring_stats"]["outcomes"]["blocked"] == 1);
}
