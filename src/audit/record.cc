#include "audit/record.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/files.h"

namespace hive::audit {
namespace {

// Arguments and paths may hold bytes that are not UTF-8; they are written with U+FFFD rather
// than refusing the record, because a run must never go unaudited over an odd file name.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool IsLowerHex(std::string_view s, size_t len) {
  return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status NotARecord(const std::string& why) { return Error(Code::kInvalidArgument, why); }

// A required string member that must be `len` hex digits (len 0: any string).
Result<std::string> HexMember(const nlohmann::json& body, const char* name, size_t len) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string()) {
    return NotARecord(fmt::format("no string field `{}`", name));
  }
  std::string v = it->get<std::string>();
  if (len && !IsLowerHex(v, len)) {
    return NotARecord(fmt::format("`{}` is not {} lowercase hex digits", name, len));
  }
  return v;
}

}  // namespace

std::string BuildPrefix(const RecordHeader& header, const nlohmann::json& fields) {
  std::string p = fmt::format("{{\"seq\":{},\"time\":{},\"event\":{}", header.seq,
                              Dump(header.time), Dump(header.event));
  for (const auto& [name, value] : fields.items()) {
    p += ',';
    p += Dump(name);
    p += ':';
    p += Dump(value);
  }
  p += fmt::format(",\"key\":\"{}\",\"prev\":\"{}\"", header.key, header.prev);
  return p;
}

std::string CompleteLine(const std::string& prefix, const std::string& sig_hex) {
  return prefix + std::string(kSigField) + sig_hex + "\"}";
}

std::string LineHash(std::string_view line) { return Sha256Hex(std::string(line)); }

Result<ParsedRecord> ParseLine(std::string_view line) {
  // The signature is found by bytes, not by parsing: the last `,"sig":"` of a line that ends
  // with `"}`. Hex holds no quote, so no byte of the signature can be mistaken for the field.
  if (line.size() < kSigField.size() + 2 || line.substr(line.size() - 2) != "\"}") {
    return NotARecord("it does not end with the signature field");
  }
  size_t pos = line.rfind(kSigField);
  if (pos == std::string_view::npos) return NotARecord("it has no signature field");
  size_t sig_start = pos + kSigField.size();
  std::string_view sig = line.substr(sig_start, line.size() - 2 - sig_start);
  if (!IsLowerHex(sig, kSigHexLen) && !IsLowerHex(sig, 2 * kSigHexLen)) {
    return NotARecord("its signature is not 128 (or 256) lowercase hex digits");
  }
  nlohmann::json body = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) return NotARecord("it is not a JSON object");

  ParsedRecord r;
  auto seq = body.find("seq");
  if (seq == body.end() || !seq->is_number_unsigned() || seq->get<uint64_t>() == 0) {
    return NotARecord("`seq` is not a positive integer");
  }
  r.seq = seq->get<uint64_t>();
  HIVE_ASSIGN_OR_RETURN(r.time, HexMember(body, "time", 0));
  HIVE_ASSIGN_OR_RETURN(r.event, HexMember(body, "event", 0));
  HIVE_ASSIGN_OR_RETURN(r.key, HexMember(body, "key", 64));
  HIVE_ASSIGN_OR_RETURN(r.prev, HexMember(body, "prev", 64));
  HIVE_ASSIGN_OR_RETURN(r.sig_hex, HexMember(body, "sig", 0));
  // A duplicate "sig" member earlier in the line would make the parsed value differ from the
  // bytes the signature was cut from.
  if (r.sig_hex != sig) return NotARecord("its `sig` field is not the line's last bytes");
  bool rotated = r.event == kKeyRotated;
  if (rotated) {
    HIVE_ASSIGN_OR_RETURN(r.new_key, HexMember(body, "new_key", 64));
  }
  if (r.event == kKeyReplaced) {
    HIVE_ASSIGN_OR_RETURN(r.lost_key, HexMember(body, "lost_key", 64));
  }
  if (sig.size() != (rotated ? 2 : 1) * kSigHexLen) {
    return NotARecord(rotated ? "a key_rotated record needs two signatures"
                              : "only a key_rotated record carries two signatures");
  }
  r.prefix_len = pos;
  r.hash = LineHash(line);
  r.body = std::move(body);
  return r;
}

std::vector<Line> SplitLines(std::string_view content) {
  std::vector<Line> lines;
  size_t start = 0;
  while (start < content.size()) {
    size_t nl = content.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back({start, content.substr(start), false});
      break;
    }
    lines.push_back({start, content.substr(start, nl - start), true});
    start = nl + 1;
  }
  return lines;
}

Result<Tail> ReadTail(int fd, const std::string& path) {
  // Records are small, but a log can be large: read backwards only as far as the start of the
  // last complete line, in chunks that start at a few pages (one record) and double.
  constexpr uint64_t kFirstChunk = 8 * 1024;
  constexpr uint64_t kMaxTail = 16 * 1024 * 1024;
  struct stat st;
  if (::fstat(fd, &st) != 0) return Errno(fmt::format("stat `{}`", path));
  Tail tail;
  tail.size = static_cast<uint64_t>(st.st_size);
  if (tail.size == 0) return tail;

  std::string buf;  // the bytes [off, tail.size)
  uint64_t off = tail.size;
  for (uint64_t chunk = kFirstChunk;; chunk *= 2) {
    const uint64_t n = std::min(chunk, off);
    off -= n;
    buf.insert(0, n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(off + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Errno(fmt::format("read `{}`", path));
      if (r == 0) return Error(Code::kInternal, fmt::format("`{}` shrank while read", path));
      got += static_cast<size_t>(r);
    }
    if (off == 0 || std::count(buf.begin(), buf.end(), '\n') >= 2) break;
    if (buf.size() > kMaxTail) {
      return Error(Code::kFailedPrecondition,
                   fmt::format("read the last record of `{}`: no line break in its last {} "
                               "bytes; it is not an audit log",
                               path, buf.size()));
    }
  }

  size_t end = buf.size() - 1;  // the newline that ends the last complete line
  if (buf.back() != '\n') {
    size_t nl = buf.rfind('\n');
    size_t frag = nl == std::string::npos ? 0 : nl + 1;
    tail.fragment = buf.substr(frag);
    tail.fragment_offset = off + frag;
    if (nl == std::string::npos) return tail;
    end = nl;
  }
  size_t before = end == 0 ? std::string::npos : buf.rfind('\n', end - 1);
  size_t start = before == std::string::npos ? 0 : before + 1;
  tail.has_line = true;
  tail.line_offset = off + start;
  tail.line = buf.substr(start, end - start);
  return tail;
}

Result<std::string> ActiveKey(const Tail& tail, const std::string& path) {
  if (!tail.has_line) return std::string();
  Result<ParsedRecord> last = ParseLine(tail.line);
  if (!last.ok()) {
    return Error(Code::kFailedPrecondition,
                 fmt::format("audit log `{}`: the last record (byte {}) cannot be read ({}); "
                             "check it with `hive-run audit verify --log {}`",
                             path, tail.line_offset, last.status().message(), path));
  }
  // A key_replaced record is signed by the key that replaces, so its `key` is the new one.
  return last->event == kKeyRotated ? last->new_key : last->key;
}

Result<std::vector<ParsedRecord>> ReadRecords(const std::string& log_path, uint64_t* skipped) {
  HIVE_ASSIGN_OR_RETURN(std::string content, ReadFile(log_path));
  std::vector<ParsedRecord> records;
  uint64_t bad = 0;
  for (const Line& line : SplitLines(content)) {
    Result<ParsedRecord> r = ParseLine(line.bytes);
    if (r.ok() && line.terminated) {
      records.push_back(std::move(r).value());
    } else {
      ++bad;
    }
  }
  if (skipped) *skipped = bad;
  return records;
}

}  // namespace hive::audit
