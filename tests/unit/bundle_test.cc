// config.json parsing: JSON paths in errors, unknown properties ignored, the ceiling rules.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include "hive/bundle.h"
#include "hive/run.h"

namespace {

const char* kMinimal = R"({
  "ociVersion": "1.0.2",
  "process": {"args": ["sh"], "cwd": "/", "env": ["A=1"]},
  "root": {"path": "rootfs", "readonly": true},
  "somethingNew": {"ignored": true}
})";

std::string ErrorOf(const std::string& json) {
  auto r = hive::ParseOciConfig(json, "config.json", "/b");
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

}  // namespace

TEST_CASE("minimal config parses; unknown properties are ignored") {
  auto c = hive::ParseOciConfig(kMinimal, "config.json", "/b");
  REQUIRE(c.ok());
  CHECK(c->process.args == std::vector<std::string>{"sh"});
  CHECK(c->root_path == "/b/rootfs");
  CHECK(c->root_readonly);
}

TEST_CASE("type errors name the JSON path") {
  CHECK(ErrorOf(R"({"process": {"args": ["sh", 1]}, "root": {"path": "r"}})") ==
        "config.json: process.args[1]: expected a string, got number");
  CHECK(ErrorOf(R"({"process": {"args": ["sh"], "user": {"uid": -1}}, "root": {"path": "r"}})")
            .find("process.user.uid") != std::string::npos);
  CHECK(ErrorOf(R"({"process": {"args": ["sh"]}, "root": {"path": "r"},
                   "mounts": [{"destination": "rel"}]})")
            .find("mounts[0].destination: must be absolute") != std::string::npos);
  CHECK(ErrorOf(R"({"process": {"args": ["sh"], "rlimits": [{"type": "RLIMIT_BOGUS", "soft": 1,
                   "hard": 1}]}, "root": {"path": "r"}})")
            .find("process.rlimits[0].type") != std::string::npos);
  CHECK(ErrorOf(R"({"process": {"args": []}, "root": {"path": "r"}})")
            .find("process.args: must not be empty") != std::string::npos);
  CHECK(ErrorOf(R"({"root": {"path": "r"}})").find("process: missing") != std::string::npos);
  CHECK(ErrorOf("[1,2]").find("(root)") != std::string::npos);
  CHECK(ErrorOf("{").find("invalid JSON") != std::string::npos);
}

TEST_CASE("joining an existing namespace is refused") {
  CHECK(ErrorOf(R"({"process": {"args": ["sh"]}, "root": {"path": "r"},
                   "linux": {"namespaces": [{"type": "network", "path": "/proc/1/ns/net"}]}})")
            .find("linux.namespaces[0].path") != std::string::npos);
}

TEST_CASE("ceiling: the config may tighten the policy but not loosen it") {
  hive::Bundle b;
  b.dir = "/b";
  auto c = hive::ParseOciConfig(R"({"process": {"args": ["sh"]}, "root": {"path": "r",
      "readonly": true}, "linux": {"resources": {"memory": {"limit": 104857600},
      "pids": {"limit": 10}}}})", "config.json", "/b");
  REQUIRE(c.ok());
  b.config = *c;
  hive::Policy policy = hive::DefaultPolicy();
  hive::RunRequest req;
  req.mode = hive::RunMode::kBundle;
  auto spec = hive::CompileRunSpec(policy, req, &b, nullptr);
  REQUIRE(spec.ok());
  CHECK(spec->limits.memory_mb == 100);
  CHECK(spec->limits.max_processes == 10);

  policy.execution.max_processes = 5;
  auto refused = hive::CompileRunSpec(policy, req, &b, nullptr);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("asks for 10; security.execution.max_processes is 5") !=
        std::string::npos);
}

TEST_CASE("ceiling: a writable rootfs and extra capabilities are refused") {
  hive::Bundle b;
  b.dir = "/b";
  auto c = hive::ParseOciConfig(R"({"process": {"args": ["sh"], "capabilities":
      {"bounding": ["CAP_NET_RAW"]}}, "root": {"path": "r", "readonly": true}})", "config.json", "/b");
  REQUIRE(c.ok());
  b.config = *c;
  hive::RunRequest req;
  auto spec = hive::CompileRunSpec(hive::DefaultPolicy(), req, &b, nullptr);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().message().find("CAP_NET_RAW") != std::string::npos);
  b.config.capability_names.clear();
  b.config.root_readonly = false;
  spec = hive::CompileRunSpec(hive::DefaultPolicy(), req, &b, nullptr);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().message().find("root.readonly") != std::string::npos);
}

TEST_CASE("rlimits from the policy: cpu soft below hard, no core dumps") {
  hive::Policy policy = hive::DefaultPolicy();
  hive::RunRequest req;
  req.command = {"/bin/true"};
  auto spec = hive::CompileRunSpec(policy, req, nullptr, nullptr);
  REQUIRE(spec.ok());
  CHECK(spec->process.args == std::vector<std::string>{"/bin/true"});
  CHECK(spec->uid_mappings.at(0).host_id != 0);
}

TEST_CASE("interpreter by extension") {
  CHECK(hive::InterpreterFor("x.py")->at(0) == "python3");
  CHECK(hive::InterpreterFor("x.sh")->at(0) == "/bin/sh");
  CHECK_FALSE(hive::InterpreterFor("/nonexistent/x").ok());
}
