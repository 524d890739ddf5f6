// The byte format of one audit record (hive-run-audit(5)) and reading it back.
//
// A record is one line: P + `,"sig":"` + HEX + `"}` + "\n", where P (the signed prefix) is
// `{"seq":N,"time":T,"event":E,` + the record's other fields in key order + `,"key":K,"prev":H`.
// HEX is the Ed25519 signature over P (two signatures, old key then new, for key_rotated).
// A key_replaced record (the old private key was lost) is signed by the new key alone, which
// is its `key`; `lost_key` names the key it replaces.
// `prev` is the SHA-256 of the previous line's bytes without its newline.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hive/status.h"

namespace hive::audit {

inline constexpr std::string_view kGenesisPrev =
    "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr std::string_view kSigField = ",\"sig\":\"";
inline constexpr size_t kSigHexLen = 128;  // one Ed25519 signature
inline constexpr std::string_view kKeyRotated = "key_rotated";
inline constexpr std::string_view kKeyReplaced = "key_replaced";

// Fields the writer owns; a caller's fields may not use these names.
inline constexpr std::string_view kReservedFields[] = {"seq",  "time",    "event",    "host",
                                                       "user", "key",     "prev",     "sig",
                                                       "torn", "new_key", "lost_key", "truncated"};

struct RecordHeader {
  uint64_t seq = 0;
  std::string time;
  std::string event;
  std::string key;   // signer's public key, hex
  std::string prev;  // SHA-256 hex of the previous line
};

// P, the signed prefix. `fields` must be an object; it is written in key order.
std::string BuildPrefix(const RecordHeader& header, const nlohmann::json& fields);
// P + the signature field; the line without its newline.
std::string CompleteLine(const std::string& prefix, const std::string& sig_hex);
// SHA-256 hex of a line's bytes without its newline: a record's `hash`.
std::string LineHash(std::string_view line);

struct ParsedRecord {
  uint64_t seq = 0;
  std::string time;
  std::string event;
  std::string key;
  std::string new_key;   // key_rotated only
  std::string lost_key;  // key_replaced only
  std::string prev;
  std::string sig_hex;
  size_t prefix_len = 0;  // P is the line's first prefix_len bytes
  std::string hash;
  nlohmann::json body;  // the whole record, for show and stats
};

// Reads one line (without its newline) as a record; the error says why it is not one.
Result<ParsedRecord> ParseLine(std::string_view line);

struct Line {
  uint64_t offset = 0;
  std::string_view bytes;  // without the newline
  bool terminated = true;  // false for a last line with no newline (a torn write)
};
std::vector<Line> SplitLines(std::string_view content);

// The end of a log, read backwards from an open file: the last complete line and any
// unterminated bytes after it.
struct Tail {
  uint64_t size = 0;
  bool has_line = false;
  uint64_t line_offset = 0;
  std::string line;
  std::string fragment;  // bytes after the last newline (a torn write), usually empty
  uint64_t fragment_offset = 0;
};
Result<Tail> ReadTail(int fd, const std::string& path);

// The key that must sign the record after the tail's: its signer's, or the key it rotated to.
// Empty when the log has no complete record. An error when the last record cannot be read.
Result<std::string> ActiveKey(const Tail& tail, const std::string& path);

// Every line of a log that reads as a record, in file order; `skipped` counts the others.
Result<std::vector<ParsedRecord>> ReadRecords(const std::string& log_path, uint64_t* skipped);

}  // namespace hive::audit
