// The audit log: record bytes, the chain, signatures, every tamper case verify must name,
// torn writes, key rotation, concurrent appenders, RecordRun and stats.
#include "hive/audit.h"

#include <doctest/doctest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "audit/keys.h"
#include "audit/record.h"
#include "audit/stats.h"
#include "base/files.h"

namespace fs = std::filesystem;
using hive::audit::AuditLog;
using hive::audit::Problem;
using hive::audit::VerifyResult;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "hive-audit-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Slurp(const std::string& path) {
  auto r = hive::ReadFile(path);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  return r.value();
}

void Spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// The log's lines, each with its newline.
std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(Slurp(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line + "\n");
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l;
  Spit(path, all);
}

// A log of `n` run records in dir/audit.log with keys in dir/keys.
struct Fixture {
  TempDir dir;
  std::string log = dir / "audit.log";
  std::string keys = dir / "keys";
  std::string pub;

  explicit Fixture(int n) {
    auto opened = AuditLog::Open(log, keys);
    REQUIRE_MESSAGE(opened.ok(), opened.status().message());
    for (int i = 1; i <= n; ++i) {
      auto ref = opened->Append("run", {{"run_id", "r" + std::to_string(i)}, {"exit_code", 0}});
      REQUIRE_MESSAGE(ref.ok(), ref.status().message());
      CHECK(ref->seq == static_cast<uint64_t>(i));
    }
    pub = opened->public_key();
  }

  // Rewrites the log's lines with `edit`, then verifies it.
  template <typename Edit>
  VerifyResult VerifyAfter(Edit edit) const {
    std::vector<std::string> lines = Lines(log);
    edit(lines);
    WriteLines(log, lines);
    return Verify();
  }

  VerifyResult Verify(std::optional<hive::audit::Head> since = std::nullopt) const {
    auto v = hive::audit::Verify(log, {pub, since});
    REQUIRE_MESSAGE(v.ok(), v.status().message());
    return v.value();
  }
};

std::string Forge(const hive::audit::KeyPair& key, uint64_t seq, const std::string& prev) {
  hive::audit::RecordHeader h{seq, "2026-01-01T00:00:00.000Z", "run", key.public_hex, prev};
  std::string prefix = hive::audit::BuildPrefix(h, {{"run_id", "forged"}, {"exit_code", 0}});
  return hive::audit::CompleteLine(prefix, hive::audit::SignHex(key, prefix)) + "\n";
}

std::string HashOf(const std::string& line_with_newline) {
  return hive::audit::LineHash(line_with_newline.substr(0, line_with_newline.size() - 1));
}

}  // namespace

TEST_CASE("first use makes the key pair: audit.key 0600, audit.pub beside it") {
  Fixture f(0);
  struct stat st;
  REQUIRE(::stat((f.keys + "/audit.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(Slurp(f.keys + "/audit.pub") == f.pub + "\n");
  CHECK(f.pub.size() == 64);
  REQUIRE(::stat(f.log.c_str(), &st) == 0);
  CHECK(st.st_size == 0);
  // Reopening keeps the key.
  auto again = AuditLog::Open(f.log, f.keys);
  REQUIRE(again.ok());
  CHECK(again->public_key() == f.pub);
}

TEST_CASE("records are chained lines signed over their exact bytes up to the sig field") {
  Fixture f(3);
  auto lines = Lines(f.log);
  REQUIRE(lines.size() == 3);
  std::string prev(hive::audit::kGenesisPrev);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i].substr(0, lines[i].size() - 1);
    CHECK(line.rfind("{\"seq\":" + std::to_string(i + 1) + ",\"time\":\"", 0) == 0);
    CHECK(line.find(",\"prev\":\"" + prev + "\",\"sig\":\"") != std::string::npos);
    // Checked with libsodium directly, not through the verifier: the signature covers the
    // bytes before `,"sig":"` and the signature is the last 128 hex digits.
    size_t cut = line.size() - 2 - 128 - std::string(hive::audit::kSigField).size();
    CHECK(line.substr(cut, 8) == ",\"sig\":\"");
    unsigned char sig[64];
    unsigned char pk[32];
    REQUIRE(sodium_hex2bin(sig, 64, line.data() + cut + 8, 128, nullptr, nullptr, nullptr) == 0);
    REQUIRE(sodium_hex2bin(pk, 32, f.pub.data(), 64, nullptr, nullptr, nullptr) == 0);
    CHECK(crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(line.data()), cut,
                                      pk) == 0);
    prev = hive::Sha256Hex(line);
  }
  VerifyResult v = f.Verify();
  CHECK(v.ok);
  CHECK(v.records == 3);
  CHECK(v.head.seq == 3);
  CHECK(v.head.hash == prev);
  auto head = hive::audit::ReadHead(f.log);
  REQUIRE(head.ok());
  CHECK(hive::audit::FormatHead(head.value()) == "3:" + prev);
}

TEST_CASE("the writer's own fields cannot be overridden and events are known ones") {
  Fixture f(0);
  auto log = AuditLog::Open(f.log, f.keys);
  REQUIRE(log.ok());
  CHECK(log->Append("run", {{"seq", 7}}).status().code() == hive::Code::kInvalidArgument);
  CHECK(log->Append("run", {{"sig", "x"}}).status().code() == hive::Code::kInvalidArgument);
  CHECK(log->Append("key_rotated", {}).status().code() == hive::Code::kInvalidArgument);
  CHECK(log->Append("run", nlohmann::json::array()).status().code() ==
        hive::Code::kInvalidArgument);
  CHECK(Slurp(f.log).empty());
}

TEST_CASE("tamper: a flipped byte in a field is named as changed") {
  Fixture f(5);
  VerifyResult v = f.VerifyAfter([](auto& lines) {
    size_t at = lines[2].find("\"exit_code\":0");
    REQUIRE(at != std::string::npos);
    lines[2][at + 12] = '1';
  });
  CHECK_FALSE(v.ok);
  CHECK(v.problem == Problem::kChanged);
  CHECK(v.bad_seq == 3);
  CHECK(v.message.rfind("record 3: changed:", 0) == 0);
}

TEST_CASE("tamper: a byte flipped so the line is no longer JSON is still named by seq") {
  Fixture f(4);
  VerifyResult v = f.VerifyAfter([](auto& lines) { lines[1][lines[1].find("\"run_id\"")] = '{'; });
  CHECK(v.problem == Problem::kChanged);
  CHECK(v.bad_seq == 2);
}

TEST_CASE("tamper: a deleted record is named as removed") {
  Fixture f(5);
  VerifyResult v = f.VerifyAfter([](auto& lines) { lines.erase(lines.begin() + 2); });
  CHECK(v.problem == Problem::kRemoved);
  CHECK(v.bad_seq == 3);
}

TEST_CASE("tamper: two swapped records are named as reordered") {
  Fixture f(5);
  VerifyResult v = f.VerifyAfter([](auto& lines) { std::swap(lines[2], lines[3]); });
  CHECK(v.problem == Problem::kReordered);
  CHECK(v.bad_seq == 3);
}

TEST_CASE("tamper: a forged record signed by another key is named as inserted") {
  Fixture f(5);
  hive::audit::KeyPair other = hive::audit::GenerateKeyPair();
  VerifyResult v = f.VerifyAfter(
      [&](auto& lines) { lines.insert(lines.begin() + 2, Forge(other, 3, HashOf(lines[1]))); });
  CHECK(v.problem == Problem::kInserted);
  CHECK(v.bad_seq == 3);
  CHECK(v.message.find("signed by key " + other.public_hex.substr(0, 16)) != std::string::npos);
}

TEST_CASE("tamper: a record appended with another key is named as signed by another key") {
  Fixture f(3);
  VerifyResult v = f.VerifyAfter([](auto& lines) {
    lines.push_back(Forge(hive::audit::GenerateKeyPair(), 4, HashOf(lines[2])));
  });
  CHECK(v.problem == Problem::kOtherKey);
  CHECK(v.bad_seq == 4);
}

TEST_CASE("tamper: a log re-signed wholesale by another key fails against the trusted key") {
  Fixture f(2);
  hive::audit::KeyPair other = hive::audit::GenerateKeyPair();
  std::string l1 = Forge(other, 1, std::string(hive::audit::kGenesisPrev));
  WriteLines(f.log, {l1, Forge(other, 2, HashOf(l1))});
  VerifyResult v = f.Verify();
  CHECK(v.problem == Problem::kOtherKey);
  CHECK(v.bad_seq == 1);
}

TEST_CASE("tamper: record 1 replaced by one signed with another key is named, not record 2") {
  Fixture f(3);
  VerifyResult v = f.VerifyAfter([](auto& lines) {
    lines[0] = Forge(hive::audit::GenerateKeyPair(), 1, std::string(hive::audit::kGenesisPrev));
  });
  CHECK(v.problem == Problem::kOtherKey);
  CHECK(v.bad_seq == 1);
}

TEST_CASE("tamper: a deleted key_rotated record is named as removed") {
  Fixture f(1);
  auto log = AuditLog::Open(f.log, f.keys);
  REQUIRE(log.ok());
  for (int i = 0; i < 3; ++i) REQUIRE(log->RotateKey().ok());
  REQUIRE(log->Append("run", {{"run_id", "last"}}).ok());
  auto lines = Lines(f.log);
  lines.erase(lines.begin() + 2);  // the rotation from the second key to the third
  WriteLines(f.log, lines);
  auto v = hive::audit::Verify(f.log, {log->public_key(), std::nullopt});
  REQUIRE(v.ok());
  CHECK(v->problem == Problem::kRemoved);
  CHECK(v->bad_seq == 3);
}

TEST_CASE("tamper: a log cut mid-line is named as torn") {
  Fixture f(4);
  std::string all = Slurp(f.log);
  auto lines = Lines(f.log);
  size_t keep = lines[0].size() + lines[1].size() + lines[2].size() / 2;
  Spit(f.log, all.substr(0, keep));
  VerifyResult v = f.Verify();
  CHECK(v.problem == Problem::kTorn);
  CHECK(v.bad_seq == 3);
  CHECK(v.records == 2);
}

TEST_CASE("tamper: whole records cut behind a published head are named as removed") {
  Fixture f(5);
  VerifyResult before = f.Verify();
  REQUIRE(before.ok);
  hive::audit::Head published = before.head;
  auto lines = Lines(f.log);
  lines.resize(3);
  WriteLines(f.log, lines);
  // Without the checkpoint a clean cut at a line boundary looks like a shorter log...
  CHECK(f.Verify().ok);
  // ...with it, the cut is caught and named.
  VerifyResult v = f.Verify(published);
  CHECK(v.problem == Problem::kRemoved);
  CHECK(v.bad_seq == 4);
  // An older checkpoint that the log still extends passes.
  auto h2 = hive::audit::ParseHead("2:" + HashOf(lines[1]));
  REQUIRE(h2.ok());
  CHECK(f.Verify(h2.value()).ok);
}

TEST_CASE("a log rewritten with the key since the published head is named as changed") {
  Fixture f(3);
  hive::audit::Head published = f.Verify().head;
  Spit(f.log, "");
  auto log = AuditLog::Open(f.log, f.keys);
  REQUIRE(log.ok());
  for (int i = 0; i < 3; ++i) REQUIRE(log->Append("run", {{"run_id", "again"}}).ok());
  CHECK(f.Verify().ok);
  VerifyResult v = f.Verify(published);
  CHECK(v.problem == Problem::kChanged);
  CHECK(v.bad_seq == 3);
}

TEST_CASE("verification needs only the public key") {
  Fixture f(3);
  TempDir elsewhere;
  fs::copy_file(f.log, elsewhere / "audit.log");
  fs::copy_file(f.keys + "/audit.pub", elsewhere / "audit.pub");
  fs::remove_all(f.keys);
  auto key = hive::audit::LoadPublicKey(elsewhere / "audit.pub");
  REQUIRE(key.ok());
  auto v = hive::audit::Verify(elsewhere / "audit.log", {key.value(), std::nullopt});
  REQUIRE(v.ok());
  CHECK(v->ok);
  CHECK(v->records == 3);
  // The key also works given as hex, and a wrong key is refused.
  CHECK(hive::audit::LoadPublicKey(f.pub).value() == f.pub);
  auto wrong = hive::audit::Verify(elsewhere / "audit.log",
                                   {hive::audit::GenerateKeyPair().public_hex, std::nullopt});
  REQUIRE(wrong.ok());
  CHECK(wrong->problem == Problem::kOtherKey);
  CHECK(wrong->bad_seq == 1);
}

TEST_CASE("a torn last line is reported, then closed and recorded by the next append") {
  Fixture f(2);
  std::string fragment = "{\"seq\":3,\"time\":\"2026-01-";
  uint64_t offset = Slurp(f.log).size();
  Spit(f.log, Slurp(f.log) + fragment);
  VerifyResult torn = f.Verify();
  CHECK(torn.problem == Problem::kTorn);
  CHECK(torn.bad_seq == 3);

  auto log = AuditLog::Open(f.log, f.keys);
  REQUIRE(log.ok());
  auto ref = log->Append("run", {{"run_id", "after-crash"}});
  REQUIRE(ref.ok());
  CHECK(ref->seq == 3);
  auto lines = Lines(f.log);
  REQUIRE(lines.size() == 4);
  CHECK(lines[2] == fragment + "\n");
  auto rec = hive::audit::ParseLine(lines[3].substr(0, lines[3].size() - 1));
  REQUIRE(rec.ok());
  CHECK(rec->body["torn"]["offset"] == offset);
  CHECK(rec->body["torn"]["length"] == fragment.size());
  CHECK(rec->prev == HashOf(lines[1]));
  VerifyResult v = f.Verify();
  CHECK(v.ok);
  CHECK(v.records == 3);
  REQUIRE(v.notes.size() == 1);
  CHECK(v.notes[0].find("torn write") != std::string::npos);

  // Garbage that no record acknowledges is not excused.
  lines.insert(lines.begin() + 1, "not a record\n");
  WriteLines(f.log, lines);
  VerifyResult ins = f.Verify();
  CHECK(ins.problem == Problem::kInserted);
  CHECK(ins.bad_seq == 2);
}

TEST_CASE("key rotation is recorded in the log and either key verifies it") {
  Fixture f(2);
  std::string old_pub = f.pub;
  auto a = AuditLog::Open(f.log, f.keys);
  auto b = AuditLog::Open(f.log, f.keys);  // opened before the rotation, like a long run
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto rot = a->RotateKey();
  REQUIRE_MESSAGE(rot.ok(), rot.status().message());
  CHECK(rot->seq == 3);
  std::string new_pub = a->public_key();
  CHECK(new_pub != old_pub);
  CHECK(Slurp(f.keys + "/audit.pub") == new_pub + "\n");
  CHECK_FALSE(fs::exists(f.keys + "/audit.key.new"));
  auto ref = b->Append("run", {{"run_id", "after-rotation"}});
  REQUIRE_MESSAGE(ref.ok(), ref.status().message());
  CHECK(b->public_key() == new_pub);
  auto lines = Lines(f.log);
  REQUIRE(lines.size() == 4);
  CHECK(lines[2].find("\"event\":\"key_rotated\"") != std::string::npos);
  CHECK(lines[2].find("\"new_key\":\"" + new_pub + "\"") != std::string::npos);
  CHECK(lines[3].find("\"key\":\"" + new_pub + "\"") != std::string::npos);

  for (const std::string& anchor : {old_pub, new_pub}) {
    auto v = hive::audit::Verify(f.log, {anchor, std::nullopt});
    REQUIRE(v.ok());
    CHECK_MESSAGE(v->ok, v->message);
    CHECK(v->records == 4);
  }
}

TEST_CASE("a record signed by the retired key after a rotation is named") {
  Fixture f(1);
  std::string seed_before = Slurp(f.keys + "/audit.key");
  auto log = AuditLog::Open(f.log, f.keys);
  REQUIRE(log.ok());
  REQUIRE(log->RotateKey().ok());
  auto old_key = hive::audit::LoadKeyPair(f.keys + "/audit.key");
  REQUIRE(old_key.ok());
  // Rebuild the retired key from its saved seed and sign a continuation with it.
  Spit(f.keys + "/old.key", seed_before);
  ::chmod((f.keys + "/old.key").c_str(), 0600);
  auto retired = hive::audit::LoadKeyPair(f.keys + "/old.key");
  REQUIRE(retired.ok());
  auto lines = Lines(f.log);
  lines.push_back(Forge(retired.value(), 3, HashOf(lines[1])));
  WriteLines(f.log, lines);
  auto v = hive::audit::Verify(f.log, {old_key->public_hex, std::nullopt});
  REQUIRE(v.ok());
  CHECK(v->problem == Problem::kOtherKey);
  CHECK(v->bad_seq == 3);
}

TEST_CASE("a log whose key is gone is refused at open, before any run") {
  Fixture f(1);
  fs::remove_all(f.keys);
  auto log = AuditLog::Open(f.log, f.keys);
  REQUIRE_FALSE(log.ok());
  CHECK(log.status().code() == hive::Code::kFailedPrecondition);
  CHECK(log.status().message().find("is signed by key " + f.pub) != std::string::npos);
}

TEST_CASE("a log that cannot be appended to is refused at open") {
  TempDir dir;
  Spit(dir / "file", "x");
  auto under_file = AuditLog::Open(dir / "file/audit.log", dir / "keys");
  REQUIRE_FALSE(under_file.ok());
  CHECK(under_file.status().message().find("open audit log") != std::string::npos);
  auto device = AuditLog::Open("/dev/null", dir / "keys");
  REQUIRE_FALSE(device.ok());
  CHECK(device.status().message().find("not a regular file") != std::string::npos);
  auto key_readable = [&] {
    Fixture f(0);
    ::chmod((f.keys + "/audit.key").c_str(), 0644);
    return AuditLog::Open(f.log, f.keys).status();
  }();
  CHECK(key_readable.code() == hive::Code::kPermissionDenied);
}

TEST_CASE("50 concurrent appenders give 50 records and a valid chain") {
  TempDir dir;
  std::string log = dir / "audit.log";
  std::string keys = dir / "keys";
  constexpr int kWriters = 50;
  std::vector<pid_t> pids;
  for (int i = 0; i < kWriters; ++i) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Each child makes its own first use: the key pair too is created concurrently.
      auto opened = AuditLog::Open(log, keys);
      bool ok = opened.ok() && opened->Append("run", {{"run_id", "w" + std::to_string(i)}}).ok();
      ::_exit(ok ? 0 : 1);
    }
    pids.push_back(pid);
  }
  int failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  CHECK(failed == 0);
  CHECK(Lines(log).size() == kWriters);
  auto pub = hive::audit::LoadPublicKey(keys + "/audit.pub");
  REQUIRE(pub.ok());
  auto v = hive::audit::Verify(log, {pub.value(), std::nullopt});
  REQUIRE(v.ok());
  CHECK_MESSAGE(v->ok, v->message);
  CHECK(v->records == kWriters);
  uint64_t skipped = 1;
  auto records = hive::audit::ReadRecords(log, &skipped);
  REQUIRE(records.ok());
  std::set<std::string> ids;
  for (const auto& r : records.value()) ids.insert(r.body["run_id"].get<std::string>());
  CHECK(ids.size() == kWriters);
  CHECK(skipped == 0);
  CHECK_FALSE(fs::exists(keys + "/audit.key.tmp." + std::to_string(pids[0])));
}

TEST_CASE("RecordRun writes one violation record per violation, then the run record") {
  Fixture f(0);
  auto log = AuditLog::Open(f.log, f.keys);
  REQUIRE(log.ok());
  hive::RunReport report;
  report.run_id = "run-7";
  report.command = {"/usr/bin/python3", "job.py", "--flag"};
  report.outcome = hive::Outcome::kFailure;
  report.exit_code = 3;
  report.wall_ms = 42;
  report.usage.cpu_user_ms = 10;
  report.policy_sha256 = std::string(64, 'a');
  report.violations = {{"syscall", "ptrace", 2}, {"landlock", "unlinkat (delete)", 1}};
  report.alerts = {{"cpu_usage", "cpu at 95%", 95, 80}};
  report.warnings = {"memory limit not enforced: no cgroup delegation"};
  auto ref = hive::audit::RecordRun(log.value(), report);
  REQUIRE_MESSAGE(ref.ok(), ref.status().message());
  CHECK(ref->seq == 3);
  CHECK(ref->log == f.log);
  auto records = hive::audit::ReadRecords(f.log, nullptr);
  REQUIRE(records.ok());
  REQUIRE(records->size() == 3);
  const auto& recs = records.value();
  CHECK(recs[0].event == "violation");
  CHECK(recs[0].body["detail"] == "ptrace");
  CHECK(recs[0].body["count"] == 2);
  CHECK(recs[1].body["type"] == "landlock");
  const auto& run = recs[2].body;
  CHECK(recs[2].event == "run");
  CHECK(recs[2].hash == ref->hash);
  CHECK(run["run_id"] == "run-7");
  CHECK(run["command"] == nlohmann::json(report.command));
  CHECK(run["outcome"] == "failure");
  CHECK(run["exit_code"] == 3);
  CHECK(run["policy_sha256"] == report.policy_sha256);
  CHECK(run["limits"]["memory_mb"] == 512);
  CHECK(run["usage"]["cpu_user_ms"] == 10);
  CHECK(run["violations"].size() == 2);
  CHECK(run["alerts"][0]["type"] == "cpu_usage");
  CHECK(run["warnings"][0] == report.warnings[0]);
  CHECK(run["user"]["uid"] == ::getuid());
  CHECK(run.contains("host"));

  report.outcome = hive::Outcome::kBlocked;
  report.violations.clear();
  auto refused = hive::audit::RecordRun(log.value(), report);
  REQUIRE(refused.ok());
  CHECK(hive::audit::ReadRecords(f.log, nullptr)->back().event == "refused");
  CHECK(f.Verify().ok);
}

TEST_CASE("stats: executions, outcomes, violations, alerts and percentiles from the log") {
  Fixture f(0);
  auto log = AuditLog::Open(f.log, f.keys);
  REQUIRE(log.ok());
  for (uint64_t i = 1; i <= 20; ++i) {
    hive::RunReport r;
    r.run_id = "r" + std::to_string(i);
    r.outcome = i == 20 ? hive::Outcome::kTimeout : hive::Outcome::kSuccess;
    r.wall_ms = i * 10;
    r.usage.cpu_user_ms = i;
    r.usage.cpu_system_ms = i;
    if (i % 5 == 0) r.violations = {{"syscall", "ptrace", 1}};
    if (i == 20) r.alerts = {{"execution_time", "ran 200 ms", 200, 100}};
    REQUIRE(hive::audit::RecordRun(log.value(), r).ok());
  }
  uint64_t skipped = 0;
  auto records = hive::audit::ReadRecords(f.log, &skipped);
  REQUIRE(records.ok());
  hive::audit::Stats s = hive::audit::ComputeStats(records.value());
  CHECK(s.executions == 20);
  CHECK(s.outcomes["success"] == 19);
  CHECK(s.outcomes["timeout"] == 1);
  CHECK(s.violations["syscall"] == 4);
  REQUIRE(s.recent_alerts.size() == 1);
  CHECK(s.recent_alerts[0]["run_id"] == "r20");
  CHECK(s.wall_ms.p50 == 100);
  CHECK(s.wall_ms.p95 == 190);
  CHECK(s.cpu_ms.p50 == 20);
  CHECK(s.cpu_ms.p95 == 38);
  CHECK(hive::audit::StatsToJson(s)["outcomes"]["timeout"] == 1);
  CHECK(hive::audit::Percentile({}, 50) == 0);
  CHECK(hive::audit::Percentile({7}, 95) == 7);
}

TEST_CASE("heads parse and print as SEQ:HASH") {
  std::string hash(64, 'b');
  auto h = hive::audit::ParseHead("12:" + hash);
  REQUIRE(h.ok());
  CHECK(h->seq == 12);
  CHECK(hive::audit::FormatHead(h.value()) == "12:" + hash);
  CHECK_FALSE(hive::audit::ParseHead("12").ok());
  CHECK_FALSE(hive::audit::ParseHead(":" + hash).ok());
  CHECK_FALSE(hive::audit::ParseHead("x:" + hash).ok());
  CHECK_FALSE(hive::audit::ParseHead("1:abc").ok());
}

TEST_CASE("a line is a record only with the signature as its last field") {
  CHECK_FALSE(hive::audit::ParseLine("").ok());
  CHECK_FALSE(hive::audit::ParseLine("{\"seq\":1}").ok());
  Fixture f(1);
  std::string line = Lines(f.log)[0];
  line.pop_back();
  CHECK(hive::audit::ParseLine(line).ok());
  // A trailing member after the signature moves it out of last place.
  std::string moved = line.substr(0, line.size() - 1) + ",\"x\":1}";
  CHECK_FALSE(hive::audit::ParseLine(moved).ok());
}
