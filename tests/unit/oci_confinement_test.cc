// The confinement `create` saves for `exec`: what is read back is what the payload got,
// instruction for instruction and rule for rule; a damaged or missing file is an error.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <string>

#include "base/files.h"
#include "oci/confinement.h"
#include "oci/state.h"
#include "temp_dir.h"

namespace {

hive::oci::Confinement Sample() {
  hive::oci::Confinement c;
  c.process.args = {"sleep", "100"};
  c.process.env = {"PATH=/bin", "A=b c"};
  c.process.cwd = "/work";
  c.process.user.uid = 1000;
  c.process.user.gid = 1001;
  c.process.user.additional_gids = {5, 6};
  c.process.user.umask = 022;
  c.process.capabilities.bounding = {0, 21};
  c.process.capabilities.effective = {21};
  c.process.rlimits = {{RLIMIT_NOFILE, 256, 512}, {RLIMIT_CORE, 0, 0}};
  c.process.oom_score_adj = 300;
  c.landlock.abi = 6;
  c.landlock.handled_fs = 0xffff;
  c.landlock.handled_net = 3;
  c.landlock.scoped = 3;
  c.landlock.rules = {{"/", 0x1d}, {"/tmp", 0xffff}};
  c.filter.program = {{0x20, 0, 0, 4}, {0x15, 1, 0, 0xc000003e}, {0x06, 0, 0, 0x7fff0000}};
  c.filter.errno_program = {{0x06, 0, 0, 0x00050001}};
  c.filter.notify = true;
  c.filter.flags = 2;
  c.filter.profile_name = "default";
  c.oci_filter.program = {{0x06, 0, 0, 0x7fff0000}};
  c.oci_filter.flags = 4;
  c.own_net_ns = false;
  return c;
}

bool Same(const std::vector<sock_filter>& a, const std::vector<sock_filter>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].code != b[i].code || a[i].jt != b[i].jt || a[i].jf != b[i].jf || a[i].k != b[i].k) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("confinement: saved and read back unchanged") {
  hive::testing::TempDir root;
  REQUIRE(hive::oci::CreateRecordDir(root.path(), "c1").ok());
  const hive::oci::Confinement in = Sample();
  REQUIRE(hive::oci::SaveConfinement(root.path(), "c1", in).ok());
  auto out = hive::oci::LoadConfinement(root.path(), "c1");
  REQUIRE(out.ok());
  CHECK(out->process.args == in.process.args);
  CHECK(out->process.env == in.process.env);
  CHECK(out->process.cwd == "/work");
  CHECK(out->process.user.uid == 1000);
  CHECK(out->process.user.gid == 1001);
  CHECK(out->process.user.additional_gids == in.process.user.additional_gids);
  CHECK(out->process.user.umask == in.process.user.umask);
  CHECK(out->process.capabilities.bounding == in.process.capabilities.bounding);
  CHECK(out->process.capabilities.effective == in.process.capabilities.effective);
  CHECK(out->process.capabilities.ambient.empty());
  REQUIRE(out->process.rlimits.size() == 2);
  CHECK(out->process.rlimits[0].resource == RLIMIT_NOFILE);
  CHECK(out->process.rlimits[0].soft == 256);
  CHECK(out->process.rlimits[0].hard == 512);
  CHECK(out->process.oom_score_adj == 300);
  CHECK(out->process.no_new_privileges);
  CHECK(out->landlock.abi == 6);
  CHECK(out->landlock.handled_fs == 0xffff);
  CHECK(out->landlock.handled_net == 3);
  CHECK(out->landlock.scoped == 3);
  REQUIRE(out->landlock.rules.size() == 2);
  CHECK(out->landlock.rules[1].path == "/tmp");
  CHECK(out->landlock.rules[1].access == 0xffff);
  CHECK(Same(out->filter.program, in.filter.program));
  CHECK(Same(out->filter.errno_program, in.filter.errno_program));
  CHECK(out->filter.notify);
  CHECK(out->filter.flags == 2);
  CHECK(out->filter.profile_name == "default");
  CHECK(Same(out->oci_filter.program, in.oci_filter.program));
  CHECK(out->oci_filter.flags == 4);
  CHECK(out->own_pid_ns);
  CHECK_FALSE(out->own_net_ns);
}

TEST_CASE("confinement: missing and damaged files are errors naming the container") {
  hive::testing::TempDir root;
  REQUIRE(hive::oci::CreateRecordDir(root.path(), "c2").ok());
  auto missing = hive::oci::LoadConfinement(root.path(), "c2");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == hive::Code::kNotFound);
  CHECK(missing.status().message().find("`c2`") != std::string::npos);
  REQUIRE(hive::oci::SaveConfinement(root.path(), "c2", Sample()).ok());
  const std::string path = root.path() + "/c2/confinement.json";
  auto text = hive::ReadFile(path);
  REQUIRE(text.ok());
  // One hex digit short: not a whole number of instructions.
  const size_t at = text->find("\"program\":\"") + 11;
  std::string damaged = *text;
  damaged.erase(at, 1);
  REQUIRE(hive::WriteFileAtomic(path, damaged, 0600, hive::Sync::kNoSync).ok());
  auto bad = hive::oci::LoadConfinement(root.path(), "c2");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("damaged") != std::string::npos);
}
