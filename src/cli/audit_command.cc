// hive-run audit verify|show|head|keygen: the signed audit log from the command line.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>
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
  hive-run audit verify [--log F] [--pubkey K] [--since-head SEQ:HASH] [--allow-empty]
                       [--accept-key-replaced SEQ[,SEQ...]]
                                  check every signature, the chain and the sequence; exit 1
                                  naming the first bad record (or an empty log, unless
                                  --allow-empty; or a lost key's replacement the key does not
                                  vouch for, unless accepted by its seq)
  hive-run audit show [--log F] [--last N] [--json]
                                  list records (--json: the exact lines)
  hive-run audit head [--log F]   the newest record as SEQ:HASH, a checkpoint to publish
  hive-run audit keygen [--rotate [--lost-key]]
                                  make the signing key; --rotate replaces it, recorded in the log;
                                  --lost-key when the old key is gone (a recorded trust break)
options: --state-dir DIR (log <state>/audit.log, keys <state>/keys/)
  --pubkey K  a public key file or 64 hex digits (default <state>/keys/audit.pub)
)";

// "7" or "7,12": seqs of records.
Result<std::set<uint64_t>> ParseSeqList(const std::string& text) {
  std::set<uint64_t> seqs;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = std::min(text.find(',', start), text.size());
    uint64_t seq = 0;
    auto [end, ec] = std::from_chars(text.data() + start, text.data() + comma, seq);
    if (comma == start || ec != std::errc() || end != text.data() + comma || seq == 0) {
      return Error(Code::kInvalidArgument,
                   fmt::format("--accept-key-replaced `{}`: expected record numbers (SEQ or "
                               "SEQ,SEQ...) as verify names them",
                               text));
    }
    seqs.insert(seq);
    start = comma + 1;
  }
  return seqs;
}

int Verify(const AuditArgs& args) {
  std::string log = args.LogPath();
  // Checked first: without a log there is nothing to check a key against either.
  if (::access(log.c_str(), F_OK) != 0 && errno == ENOENT) {
    return FailStatus("audit verify",
                      Error(Code::kNotFound,
                            fmt::format("audit log `{}` does not exist: nothing was ever recorded "
                                        "there (is --log or --state-dir right?)",
                                        log)));
  }
  std::string pub_arg = args.Has("--pubkey") ? args.Get("--pubkey") : args.KeyDir() + "/audit.pub";
  Result<std::string> key = audit::LoadPublicKey(pub_arg);
  if (!key.ok()) return FailStatus("audit verify", key.status());
  audit::VerifyOptions options;
  options.trusted_key = key.value();
  options.allow_empty = args.Has("--allow-empty");
  if (args.Has("--since-head")) {
    Result<audit::Head> head = audit::ParseHead(args.Get("--since-head"));
    if (!head.ok()) return FailStatus("audit verify", head.status());
    options.since_head = head.value();
  }
  if (args.Has("--accept-key-replaced")) {
    Result<std::set<uint64_t>> seqs = ParseSeqList(args.Get("--accept-key-replaced"));
    if (!seqs.ok()) return FailStatus("audit verify", seqs.status());
    options.accepted_key_replacements = seqs.value();
  }
  Result<audit::VerifyResult> v = audit::Verify(log, options);
  if (!v.ok()) return FailStatus("audit verify", v.status());
  for (const std::string& note : v->notes) std::printf("note: %s\n", note.c_str());
  for (const std::string& w : v->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
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
  if (event == "key_replaced") {
    return "lost key " + r.value("lost_key", "") + " replaced by " + r.value("key", "");
  }
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
      std::string line = fmt::format("{:>6}  {}  {:<12}  {:<20}  {}", r.seq, r.time, r.event,
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
  if (args.Has("--lost-key")) {
    if (!args.Has("--rotate")) {
      return FailStatus("audit keygen", Error(Code::kInvalidArgument,
                                              "--lost-key goes with --rotate: it replaces a key"));
    }
    Result<audit::KeyReplacement> r = audit::AuditLog::ReplaceLostKey(args.LogPath(), keys);
    if (!r.ok()) return FailStatus("audit keygen", r.status());
    const char* source = r->adopted ? "the key `audit.key` held" : "a new key";
    if (r->record.seq == 0) {
      std::printf(
          "audit log `%s` has no records: signing with %s from now on, no trust to "
          "break\n  new %s\n",
          r->record.log.empty() ? args.LogPath().c_str() : r->record.log.c_str(), source,
          r->new_key.c_str());
      return 0;
    }
    std::printf(
        "replaced the lost audit key with %s at record %llu of `%s`\n  lost %s\n  new  %s\n"
        "verification reports a trust break at record %llu: anyone who checks the log "
        "with the lost key's public half needs the new public key `%s/audit.pub`\n",
        source, static_cast<unsigned long long>(r->record.seq), r->record.log.c_str(),
        r->lost_key.c_str(), r->new_key.c_str(), static_cast<unsigned long long>(r->record.seq),
        keys.c_str());
    return 0;
  }
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
  Result<std::string> pub = audit::EnsureKeyPair(keys, args.LogPath(), &created);
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
  Result<AuditArgs> args = ParseAuditArgs(
      argc, argv,
      {"--state-dir", "--log", "--pubkey", "--since-head", "--last", "--accept-key-replaced"},
      {"--json", "--rotate", "--lost-key", "--allow-empty", "--help", "-h"});
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
