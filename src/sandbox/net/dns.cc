#include "sandbox/net/dns.h"

#include <sys/socket.h>

#include <cstring>

namespace hive::net::dns {
namespace {

constexpr size_t kHeader = 12;
constexpr int kMaxPointers = 16;
constexpr int kMaxChain = 8;

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
void Put16(std::vector<uint8_t>* out, uint16_t v) {
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v));
}
void Put32(std::vector<uint8_t>* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v));
}

// Reads a (possibly compressed) name at *pos; *pos moves past it in the record. Labels are
// joined with '.', bytes kept as they are (a label holding '.' or odd bytes is then refused
// by the allowlist's normalisation).
bool ReadName(const uint8_t* buf, size_t len, size_t* pos, std::string* out) {
  std::string name;
  size_t p = *pos;
  bool jumped = false;
  int pointers = 0;
  for (;;) {
    if (p >= len) return false;
    const uint8_t l = buf[p];
    if ((l & 0xc0) == 0xc0) {
      if (p + 1 >= len || ++pointers > kMaxPointers) return false;
      if (!jumped) *pos = p + 2;
      jumped = true;
      p = static_cast<size_t>((l & 0x3f) << 8 | buf[p + 1]);
      continue;
    }
    if (l & 0xc0) return false;
    if (l == 0) {
      if (!jumped) *pos = p + 1;
      break;
    }
    if (p + 1 + l > len || name.size() + l + 1 > 255) return false;
    if (!name.empty()) name += '.';
    name.append(reinterpret_cast<const char*>(buf + p + 1), l);
    p += 1 + l;
  }
  *out = name;
  return true;
}

bool EncodeName(const std::string& name, std::vector<uint8_t>* out) {
  size_t start = 0;
  if (name.empty() || name.size() > 253) return false;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    const size_t l = dot - start;
    if (l == 0 || l > 63) return false;
    out->push_back(static_cast<uint8_t>(l));
    out->insert(out->end(), name.begin() + static_cast<long>(start),
                name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out->push_back(0);
  return true;
}

bool SameName(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool ParseQuestion(const uint8_t* buf, size_t len, Question* q) {
  if (len < kHeader) return false;
  const uint16_t flags = Get16(buf + 2);
  if (flags & 0x8000) return false;              // a response
  if (((flags >> 11) & 0xf) != 0) return false;  // opcode other than QUERY
  if (Get16(buf + 4) != 1) return false;         // exactly one question
  size_t pos = kHeader;
  Question out;
  if (!ReadName(buf, len, &pos, &out.name)) return false;
  if (pos + 4 > len) return false;
  out.id = Get16(buf);
  out.rd = (flags & 0x0100) != 0;
  out.qtype = Get16(buf + pos);
  out.qclass = Get16(buf + pos + 2);
  *q = out;
  return true;
}

std::vector<uint8_t> BuildQuery(uint16_t id, const std::string& name, uint16_t qtype) {
  std::vector<uint8_t> out;
  Put16(&out, id);
  Put16(&out, 0x0100);  // RD
  Put16(&out, 1);
  Put16(&out, 0);
  Put16(&out, 0);
  Put16(&out, 0);
  if (!EncodeName(name, &out)) return {};
  Put16(&out, qtype);
  Put16(&out, kClassIn);
  return out;
}

UpstreamAnswer ParseAnswer(const uint8_t* buf, size_t len, uint16_t id, const std::string& name,
                           uint16_t qtype) {
  UpstreamAnswer a;
  if (len < kHeader || Get16(buf) != id) return a;
  const uint16_t flags = Get16(buf + 2);
  if (!(flags & 0x8000) || Get16(buf + 4) != 1) return a;
  size_t pos = kHeader;
  std::string qname;
  if (!ReadName(buf, len, &pos, &qname) || pos + 4 > len) return a;
  if (!SameName(qname, name) || Get16(buf + pos) != qtype) return a;
  pos += 4;
  a.truncated = (flags & 0x0200) != 0;
  a.rcode = flags & 0xf;
  const uint16_t ancount = Get16(buf + 6);
  struct Record {
    std::string owner;
    uint16_t type;
    uint32_t ttl;
    std::string target;  // CNAME
    IpAddress ip;
  };
  std::vector<Record> records;
  for (uint16_t i = 0; i < ancount; ++i) {
    Record r;
    if (!ReadName(buf, len, &pos, &r.owner) || pos + 10 > len) return a;
    r.type = Get16(buf + pos);
    const uint16_t klass = Get16(buf + pos + 2);
    r.ttl = Get32(buf + pos + 4);
    const uint16_t rdlen = Get16(buf + pos + 8);
    pos += 10;
    if (pos + rdlen > len) return a;
    if (klass == kClassIn) {
      if (r.type == kTypeA && rdlen == 4) {
        r.ip.family = AF_INET;
        std::memcpy(r.ip.bytes, buf + pos, 4);
        records.push_back(r);
      } else if (r.type == kTypeAaaa && rdlen == 16) {
        r.ip.family = AF_INET6;
        std::memcpy(r.ip.bytes, buf + pos, 16);
        records.push_back(r);
      } else if (r.type == kTypeCname) {
        size_t tpos = pos;
        if (ReadName(buf, len, &tpos, &r.target)) records.push_back(r);
      }
    }
    pos += rdlen;
  }
  // Authority and additional sections are never read: no glue reaches the answer.
  a.ok = true;
  std::string owner = name;
  for (int hop = 0; hop <= kMaxChain; ++hop) {
    std::string next;
    for (const Record& r : records) {
      if (!SameName(r.owner, owner)) continue;
      if (r.type == kTypeCname && next.empty()) next = r.target;
      if (r.type == qtype) a.addrs.push_back({r.ip, r.ttl});
    }
    if (!a.addrs.empty() || next.empty()) break;
    owner = next;
    if (hop == kMaxChain) {
      a.rcode = kServFail;  // a chain too long (or a loop)
      a.addrs.clear();
    }
  }
  return a;
}

std::vector<uint8_t> BuildAnswer(const Question& q, int rcode, const std::vector<Address>& addrs) {
  std::vector<uint8_t> out;
  Put16(&out, q.id);
  Put16(&out, static_cast<uint16_t>(0x8000 | 0x0080 | (q.rd ? 0x0100 : 0) | (rcode & 0xf)));
  Put16(&out, 1);
  const size_t ancount_at = out.size();
  Put16(&out, 0);
  Put16(&out, 0);
  Put16(&out, 0);
  if (!EncodeName(q.name, &out)) {
    out.resize(kHeader);
    out[3] = static_cast<uint8_t>((out[3] & 0xf0) | kFormErr);
    out[5] = 0;  // no question
    return out;
  }
  Put16(&out, q.qtype);
  Put16(&out, q.qclass);
  uint16_t n = 0;
  for (const Address& a : addrs) {
    const size_t rdlen = a.ip.family == AF_INET ? 4 : 16;
    if (out.size() + 12 + rdlen > 512) break;
    Put16(&out, 0xc00c);  // the question's name
    Put16(&out, a.ip.family == AF_INET ? kTypeA : kTypeAaaa);
    Put16(&out, kClassIn);
    Put32(&out, a.ttl);
    Put16(&out, static_cast<uint16_t>(rdlen));
    out.insert(out.end(), a.ip.bytes, a.ip.bytes + rdlen);
    ++n;
  }
  out[ancount_at] = static_cast<uint8_t>(n >> 8);
  out[ancount_at + 1] = static_cast<uint8_t>(n);
  return out;
}

}  // namespace hive::net::dns
