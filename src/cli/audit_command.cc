// hive-run audit verify|show|head|keygen: the signed audit log from the command line.
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "audit/record.h"
#include "base/files.h"
#include "base/user_text.h"
#include "cli/audit_args.h"
#include "cli/commands.h"
#include "hive/audit.h"

namespace hive::cli {
namespace {

constexpr const char* kUsage = R"(usage:
  hive-run audit verify [--log F] [--pubkey K] [--since-head SEQ:HASH]
                                  check every signature, the chain and the sequence; exit 1
                                  naming the first bad record
  hive-run audit show [--log F] [--last N] [--json]
                                  list records (--json: the exact lines)
  hive-run audit head [--log F]   the newest record as SEQ:HASH, a checkpoint to publish
  hive-run audit keygen [--rotate]
                                  make the signing key; --rotate replaces it, recorded in the log
options: --state-dir DIR (log <state>/audit.log, keys <state>/keys/)
  --pubkey K  a public key file or 64 hex digits (default <state>/keys/audit.pub)
)";

int Verify(const AuditArgs& args) {
  std::string log = args.LogPath();
  std::string pub_arg = args.Has("--pubkey") ? args.Get("--pubkey") : args.KeyDir() + "/audit.pub";
  Result<std::string> key = audit::LoadPublicKey(pub_arg);
  if (!key.ok()) return FailStatus("audit verify", key.status());
  audit::VerifyOptions options{key.value(), std::nullopt};
  if (args.Has("--since-head")) {
    Result<audit::Head> head = audit::ParseHead(args.Get("--since-head"));
    if (!head.ok()) return FailStatus("audit verify", head.status());
    options.since_head = head.value();
  }
  Result<audit::VerifyResult> v = audit::Verify(log, options);
  if (!v.ok()) return FailStatus("audit verify", v.status());
  for (const std::string& note : v->notes) std::printf("note: %s\n", note.c_str());
  std::printf("audit log `%s`: %s\n", log.c_str(), v->message.c_str());
  return v->ok ? 0 : 1;
}

std::string Summary(const nlohmann::json& r) {
  const std::string event = r.value("event", "");
  if (event == "violation") {
    return fmt::format("{} {} x{}", r.value("type", ""), r.value("detail", ""),
                       r.value("count", uint64_t{0}));
  }
  if (event == "key_rotated") return "new key " + r.value("new_key", "");
  std::string command;
  if (auto c = r.find("command"); c != r.end() && c->is_array()) {
    for (const auto& arg : *c) command += (command.empty() ? "" : " ") + arg.dump();
  }
  // exit_status, not exit_code: it is set for every run (exit_code is null after a signal or
  // a refusal).
  auto status = r.find("exit_status");
  std::string exit = status != r.end() && status->is_number() ? status->dump() : "-";
  return fmt::format("{} exit={} {}", r.value("outcome", "?"), exit, command);
}

int Show(const AuditArgs& args) {
  std::string log = args.LogPath();
  uint64_t last = UINT64_MAX;
  if (args.Has("--last")) {
    Result<uint64_t> n = ParseUnsigned(args.Get("--last"), 0, UINT64_MAX);
    if (!n.ok()) {
      return FailStatus("audit show", Error(Code::kInvalidArgument,
                                            "--last (records): " + n.status().message()));
    }
    last = *n;
  }
  Result<std::string> content = ReadFile(log);
  if (!content.ok()) return FailStatus("audit show", content.status());
  // Exact lines, not re-serialised records: what `--json` prints is what was signed.
  std::vector<std::pair<std::string_view, audit::ParsedRecord>> records;
  for (const audit::Line& line : audit::SplitLines(content.value())) {
    Result<audit::ParsedRecord> r = audit::ParseLine(line.bytes);
    if (r.ok() && line.terminated) records.emplace_back(line.bytes, std::move(r).value());
  }
  size_t from = records.size() > last ? records.size() - static_cast<size_t>(last) : 0;
  for (size_t i = from; i < records.size(); ++i) {
    const auto& [bytes, r] = records[i];
    if (args.Has("--json")) {
      std::printf("%.*s\n", static_cast<int>(bytes.size()), bytes.data());
    } else {
      std::string line = fmt::format("{:>6}  {}  {:<11}  {:<20}  {}", r.seq, r.time, r.event,
                                     r.body.value("run_id", "-"), Summary(r.body));
      std::puts(line.c_str());
    }
  }
  return 0;
}

int Head(const AuditArgs& args) {
  Result<audit::Head> head = audit::ReadHead(args.LogPath());
  if (!head.ok()) return FailStatus("audit head", head.status());
  std::puts(audit::FormatHead(head.value()).c_str());
  return 0;
}

int Keygen(const AuditArgs& args) {
  std::string keys = args.KeyDir();
  if (args.Has("--rotate")) {
    Result<audit::AuditLog> log = audit::AuditLog::Open(args.LogPath(), keys);
    if (!log.ok()) return FailStatus("audit keygen", log.status());
    std::string old_key = log->public_key();
    Result<audit::RecordRef> ref = log->RotateKey();
    if (!ref.ok()) return FailStatus("audit keygen", ref.status());
    std::printf("rotated the audit key at record %llu of `%s`\n  old %s\n  new %s\n",
                static_cast<unsigned long long>(ref->seq), ref->log.c_str(), old_key.c_str(),
                log->public_key().c_str());
    return 0;
  }
  bool created = false;
  Result<std::string> pub = audit::EnsureKeyPair(keys, &created);
  if (!pub.ok()) return FailStatus("audit keygen", pub.status());
  if (!created) {
    return FailStatus(
        "audit keygen",
        Error(Code::kFailedPrecondition,
              fmt::format("signing key `{}/audit.key` already exists (public key {}); "
                          "`hive-run audit keygen --rotate` replaces it and records "
                          "the rotation in the log",
                          keys, pub.value())));
  }
  std::printf("created signing key `%s/audit.key` (public key `%s/audit.pub`)\n%s\n", keys.c_str(),
              keys.c_str(), pub->c_str());
  return 0;
}

}  // namespace

int AuditCommand(int argc, char** argv) {
  Result<AuditArgs> args =
      ParseAuditArgs(argc, argv, {"--state-dir", "--log", "--pubkey", "--since-head", "--last"},
                     {"--json", "--rotate", "--help", "-h"});
  if (!args.ok()) return FailStatus("audit", args.status());
  if (args->Has("--help") || args->Has("-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args->positional.size() != 1) {
    std::fputs(kUsage, stderr);
    return 125;
  }
  const std::string& action = args->positional[0];
  if (action == "verify") return Verify(args.value());
  if (action == "show") return Show(args.value());
  if (action == "head") return Head(args.value());
  if (action == "keygen") return Keygen(args.value());
  return FailStatus("audit",
                    Error(Code::kInvalidArgument,
                          fmt::format("unknown action `{}` (verify, show, head, keygen)", action)));
}

}  // namespace hive::cli
