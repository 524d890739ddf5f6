// Verify: walks the log line by line and names the first record that is not what the chain,
// the sequence and the signatures say it must be.
//
// Trust comes from one public key (the anchor). Each record commits through `prev` to every
// record before it, and each key_rotated record is signed by the key it retires and the one it
// introduces, so an anchor that signs any record of an unbroken chain authenticates all of it:
// earlier records through the hashes, later ones through the rotations.
//
// Each line is checked in this order, so that the first problem is named for what it is: its
// own signature (changed), its seq (removed, reordered, inserted), its key against the chain's
// (signed by another key), its prev (chain broken). A line is `inserted` when the line after it
// continues the chain from the line before it.
#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

#include "audit/keys.h"
#include "audit/record.h"
#include "base/files.h"
#include "base/unique_fd.h"
#include "hive/audit.h"

namespace hive::audit {
namespace {

std::string Short(std::string_view hex) { return std::string(hex.substr(0, 16)) + "…"; }

std::string UserName(const nlohmann::json& user) {
  if (!user.is_object()) return "?";
  if (auto v = user.find("sudo_user"); v != user.end() && v->is_string()) return *v;
  if (auto v = user.find("name"); v != user.end() && v->is_string()) return *v;
  if (auto v = user.find("uid"); v != user.end()) return "uid " + v->dump();
  return "?";
}

std::string_view Prefix(const Line& line, const ParsedRecord& r) {
  return line.bytes.substr(0, r.prefix_len);
}

// Signed by `key` as the record's signer (first signature) or, for key_rotated, as the key it
// introduces (second signature).
bool SignedBy(const Line& line, const ParsedRecord& r, const std::string& key) {
  std::string_view sigs = r.sig_hex;
  if (r.key == key && VerifySignature(key, Prefix(line, r), sigs.substr(0, kSigHexLen))) {
    return true;
  }
  return r.event == kKeyRotated && r.new_key == key &&
         VerifySignature(key, Prefix(line, r), sigs.substr(kSigHexLen));
}

bool ValidRotation(const Line& line, const ParsedRecord& r) {
  return r.event == kKeyRotated && SignedBy(line, r, r.key) && SignedBy(line, r, r.new_key);
}

bool AcknowledgesTorn(const ParsedRecord& next, const Line& line) {
  auto torn = next.body.find("torn");
  if (torn == next.body.end() || !torn->is_object()) return false;
  return torn->value("offset", uint64_t{0}) == line.offset &&
         torn->value("length", uint64_t{0}) == line.bytes.size() &&
         torn->value("sha256", std::string()) == Sha256Hex(std::string(line.bytes));
}

class Walker {
 public:
  Walker(const std::string& content, const VerifyOptions& options)
      : lines_(SplitLines(content)), options_(options) {
    for (const Line& line : lines_) parsed_.push_back(ParseLine(line.bytes));
    for (size_t i = 0; i < lines_.size(); ++i) {
      if (const ParsedRecord* r = At(i)) first_line_of_seq_.emplace(r->seq, i);
    }
    v_.head = {0, std::string(kGenesisPrev)};
  }

  VerifyResult Run() {
    if (lines_.empty() && !options_.allow_empty) {
      v_.problem = Problem::kEmpty;
      v_.bad_seq = 1;
      v_.message =
          "empty: the log holds no records: nothing was recorded yet, or it was emptied "
          "(verify with --allow-empty when no run is expected yet)";
      return v_;
    }
    CollectVouchedKeys();
    std::string prev(kGenesisPrev);
    uint64_t expect = 1;
    std::vector<std::string> hashes;  // hashes[seq - 1], for --since-head
    for (size_t i = 0; i < lines_.size(); ++i) {
      const Line& line = lines_[i];
      if (!line.terminated) {
        return Fail(Problem::kTorn, expect,
                    fmt::format("the last line (byte {}, {} bytes) has no newline: a write was "
                                "interrupted; the next append closes it and records the break",
                                line.offset, line.bytes.size()));
      }
      const ParsedRecord* next = At(i + 1);
      if (next && AcknowledgesTorn(*next, line)) {
        v_.notes.push_back(
            fmt::format("line {} (byte {}, {} bytes) is a torn write, recorded by "
                        "record {}",
                        i + 1, line.offset, line.bytes.size(), next->seq));
        continue;
      }
      // Line i does not belong when the line after it continues the chain from line i - 1.
      bool extra = next && next->seq == expect && next->prev == prev;
      const ParsedRecord* r = At(i);
      if (!r) {
        std::string why = parsed_[i].status().message();
        if (extra) {
          return Fail(Problem::kInserted, expect,
                      fmt::format("line {} (byte {}) before it is not a record: {}", i + 1,
                                  line.offset, why));
        }
        return Fail(
            Problem::kChanged, expect,
            fmt::format("line {} (byte {}) is no longer a record: {}", i + 1, line.offset, why));
      }
      // A record is first checked against itself: a flipped byte anywhere, the sequence
      // number and the key field included, breaks its own signature.
      if (!SignedBy(line, *r, r->key) ||
          (r->event == kKeyRotated && !SignedBy(line, *r, r->new_key))) {
        std::string what = "its signature does not match its bytes";
        if (extra) {
          return Fail(
              Problem::kInserted, expect,
              fmt::format("line {} (claims seq {}) before it is forged: {}", i + 1, r->seq, what));
        }
        return Fail(Problem::kChanged, expect, fmt::format("line {}: {}", i + 1, what));
      }
      if (r->seq > expect) {
        auto later = first_line_of_seq_.find(expect);
        if (later != first_line_of_seq_.end() && later->second > i) {
          return Fail(Problem::kReordered, expect,
                      fmt::format("it is at line {}, after record {} at line {}", later->second + 1,
                                  r->seq, i + 1));
        }
        return Fail(Problem::kRemoved, expect,
                    r->seq == expect + 1
                        ? fmt::format("line {} holds record {} right after record {}", i + 1,
                                      r->seq, expect - 1)
                        : fmt::format("records {} to {} are missing: line {} holds record {}",
                                      expect, r->seq - 1, i + 1, r->seq));
      }
      if (r->seq < expect) {
        return Fail(Problem::kInserted, expect,
                    fmt::format("line {} before it holds a second record {} (first at line {})",
                                i + 1, r->seq, first_line_of_seq_[r->seq] + 1));
      }
      // Validly signed and in sequence: now whose key it is. A key changes only through a
      // key_rotated record, or a key_replaced record naming the key it replaces.
      if (r->event == kKeyReplaced && r->lost_key != active_) {
        std::string what =
            active_.empty()
                ? fmt::format("line {}: replaces key {}, but no key signs the log before it", i + 1,
                              Short(r->lost_key))
                : fmt::format("line {}: replaces key {}, but the log's key here is {}", i + 1,
                              Short(r->lost_key), Short(active_));
        return Fail(extra ? Problem::kInserted : Problem::kOtherKey, expect, what);
      }
      if (!active_.empty() && r->event != kKeyReplaced && r->key != active_) {
        std::string what = fmt::format("line {}: signed by key {}, but the log's key here is {}",
                                       i + 1, Short(r->key), Short(active_));
        if (extra) return Fail(Problem::kInserted, expect, what);
        // The earlier records are the impostors when only this record's key is vouched for.
        if (vouched_.count(r->key) && !vouched_.count(active_)) {
          return Fail(Problem::kOtherKey, segment_start_,
                      fmt::format("signed by key {}, which the trusted key does not vouch for "
                                  "(record {} onwards is signed by {})",
                                  Short(active_), expect, Short(r->key)));
        }
        return Fail(Problem::kOtherKey, expect, what);
      }
      if (extra) {
        return Fail(Problem::kInserted, expect,
                    fmt::format("line {} before it is a second record {} on the same chain", i + 1,
                                r->seq));
      }
      if (r->prev != prev) {
        return Fail(Problem::kChainBroken, expect,
                    fmt::format("its prev {} is not the hash of record {} ({}): it belongs to "
                                "another chain",
                                Short(r->prev), expect - 1, Short(prev)));
      }
      if (r->event == kKeyReplaced) {
        std::string what = fmt::format(
            "key {} was replaced by {} without the old key (`hive-run audit keygen --rotate "
            "--lost-key`{}{})",
            Short(r->lost_key), Short(r->key),
            r->body.contains("user") ? " by " + UserName(r->body["user"]) : "",
            r->body.value("host", "").empty() ? "" : " on " + r->body.value("host", ""));
        const bool accepted = options_.accepted_key_replacements.count(r->seq) != 0;
        if (!options_.trusted_key.empty() && !vouched_.count(r->key) && !accepted) {
          return Fail(Problem::kKeyReplaced, expect,
                      fmt::format("{}; the trusted key does not vouch for the new key, so "
                                  "nothing from here on is authenticated. Once the new key is "
                                  "known to be yours, verify with --pubkey {} or accept this "
                                  "break with --accept-key-replaced {}",
                                  what, r->key, r->seq));
        }
        v_.warnings.push_back(fmt::format("record {}: trust break{}: {}", r->seq,
                                          accepted ? " (accepted)" : "", what));
        active_ = r->key;
        segment_start_ = r->seq;
      }
      if (active_.empty()) active_ = first_key_ = r->key;
      chain_keys_.insert(r->key);
      if (r->event == kKeyRotated) {
        v_.notes.push_back(fmt::format("record {}: key rotated from {} to {}", r->seq,
                                       Short(r->key), Short(r->new_key)));
        active_ = r->new_key;
        chain_keys_.insert(r->new_key);
        segment_start_ = r->seq + 1;
      }
      prev = r->hash;
      hashes.push_back(r->hash);
      v_.records = expect;
      v_.head = {expect, r->hash};
      ++expect;
    }
    if (!options_.trusted_key.empty() && v_.records && !chain_keys_.count(options_.trusted_key)) {
      return Fail(Problem::kOtherKey, 1,
                  fmt::format("signed by key {}, not the trusted key {}; no record in the log "
                              "is signed by the trusted key",
                              Short(first_key_), Short(options_.trusted_key)));
    }
    if (options_.since_head) {
      const Head& h = *options_.since_head;
      if (h.seq > v_.head.seq) {
        return Fail(Problem::kRemoved, v_.head.seq + 1,
                    fmt::format("the log ends at record {} but the published head is {}: "
                                "records {} to {} were removed",
                                v_.head.seq, FormatHead(h), v_.head.seq + 1, h.seq));
      }
      const std::string& have = h.seq == 0 ? std::string(kGenesisPrev) : hashes[h.seq - 1];
      if (have != h.hash) {
        return Fail(Problem::kChanged, h.seq,
                    fmt::format("its hash {} is not the published head's {}: the log was "
                                "rewritten since",
                                Short(have), Short(h.hash)));
      }
    }
    v_.ok = true;
    v_.message = fmt::format("{} record{} intact, head {}", v_.records, v_.records == 1 ? "" : "s",
                             FormatHead(v_.head));
    if (options_.since_head) {
      v_.message += fmt::format(", extends published head {}", FormatHead(*options_.since_head));
    }
    return std::move(v_);
  }

 private:
  const ParsedRecord* At(size_t i) const {
    if (i >= lines_.size() || !lines_[i].terminated || !parsed_[i].ok()) return nullptr;
    return &parsed_[i].value();
  }

  // The keys the trusted key vouches for: itself and every key linked to it by a key_rotated
  // record (signed by both keys, so the link is authentic in either direction).
  void CollectVouchedKeys() {
    const std::string& trusted = options_.trusted_key;
    if (trusted.empty()) return;
    vouched_.insert(trusted);
    for (bool grew = true; grew;) {
      grew = false;
      for (size_t i = 0; i < lines_.size(); ++i) {
        const ParsedRecord* r = At(i);
        if (!r || r->event != kKeyRotated || vouched_.count(r->key) == vouched_.count(r->new_key) ||
            !ValidRotation(lines_[i], *r)) {
          continue;
        }
        vouched_.insert(r->key);
        vouched_.insert(r->new_key);
        grew = true;
      }
    }
  }

  VerifyResult Fail(Problem p, uint64_t seq, const std::string& what) {
    v_.ok = false;
    v_.problem = p;
    v_.bad_seq = seq;
    v_.message = fmt::format("record {}: {}: {}", seq, ProblemName(p), what);
    return v_;
  }

  std::vector<Line> lines_;
  std::vector<Result<ParsedRecord>> parsed_;
  std::map<uint64_t, size_t> first_line_of_seq_;
  const VerifyOptions& options_;
  std::string active_;          // the key that must sign the next record; set by record 1
  uint64_t segment_start_ = 1;  // first record signed by active_
  std::string first_key_;
  std::set<std::string> vouched_;
  std::set<std::string> chain_keys_;
  VerifyResult v_;
};

}  // namespace

const char* ProblemName(Problem p) {
  switch (p) {
    case Problem::kNone:
      return "intact";
    case Problem::kChanged:
      return "changed";
    case Problem::kRemoved:
      return "removed";
    case Problem::kReordered:
      return "reordered";
    case Problem::kInserted:
      return "inserted";
    case Problem::kOtherKey:
      return "signed by another key";
    case Problem::kTorn:
      return "torn";
    case Problem::kChainBroken:
      return "chain broken";
    case Problem::kKeyReplaced:
      return "key replaced";
    case Problem::kEmpty:
      return "empty";
  }
  return "unknown";
}

VerifyResult VerifyBytes(const std::string& content, const VerifyOptions& options) {
  return Walker(content, options).Run();
}

Result<VerifyResult> Verify(const std::string& log_path, const VerifyOptions& options) {
  HIVE_TRY(InitSodium());
  HIVE_ASSIGN_OR_RETURN(std::string content, ReadFile(log_path));
  return VerifyBytes(content, options);
}

Result<Head> ReadHead(const std::string& log_path) {
  UniqueFd fd(::open(log_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Errno(fmt::format("open audit log `{}`", log_path));
  HIVE_ASSIGN_OR_RETURN(Tail tail, ReadTail(fd.get(), log_path));
  if (!tail.has_line) return Head{0, std::string(kGenesisPrev)};
  Result<ParsedRecord> last = ParseLine(tail.line);
  if (!last.ok()) {
    return last.status().Wrap(
        fmt::format("audit log `{}`: the last record (byte {})", log_path, tail.line_offset));
  }
  return Head{last->seq, last->hash};
}

std::string FormatHead(const Head& head) { return fmt::format("{}:{}", head.seq, head.hash); }

Result<Head> ParseHead(const std::string& text) {
  Head h;
  size_t colon = text.find(':');
  if (colon == std::string::npos) colon = text.size();
  std::string hash = colon < text.size() ? text.substr(colon + 1) : "";
  std::transform(hash.begin(), hash.end(), hash.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto [end, ec] = std::from_chars(text.data(), text.data() + colon, h.seq);
  bool hex = hash.size() == 64 && std::all_of(hash.begin(), hash.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c));
             });
  if (colon == 0 || ec != std::errc() || end != text.data() + colon || !hex) {
    return Error(Code::kInvalidArgument,
                 fmt::format("head `{}`: expected SEQ:HASH (as printed by `hive-run audit "
                             "head`)",
                             text));
  }
  h.hash = hash;
  return h;
}

}  // namespace hive::audit
