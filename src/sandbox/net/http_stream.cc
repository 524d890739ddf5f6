#include "sandbox/net/http_stream.h"

#include <algorithm>
#include <cctype>

#include "sandbox/net/first_flight.h"

namespace hive::net {
namespace {

constexpr size_t kMaxHead = 16 * 1024;
constexpr size_t kMaxLine = 1024;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The value of header `name` in a complete head ("" when absent); *count gets how many.
std::string Header(const std::string& head, const std::string& name, int* count) {
  std::string value;
  *count = 0;
  size_t at = head.find("\r\n");
  while (at != std::string::npos && at + 2 < head.size()) {
    const size_t start = at + 2;
    const size_t end = head.find("\r\n", start);
    const std::string line = head.substr(start, end == std::string::npos ? end : end - start);
    at = end;
    const size_t colon = line.find(':');
    if (colon == std::string::npos || Lower(line.substr(0, colon)) != name) continue;
    ++*count;
    value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t") + 1);
  }
  return value;
}

}  // namespace

bool HttpRequestStream::Feed(const uint8_t* data, size_t len,
                             const std::function<std::string(const std::string&)>& check,
                             std::string* forward, std::string* why) {
  size_t i = 0;
  while (i < len) {
    switch (state_) {
      case State::kHead: {
        pending_.push_back(static_cast<char>(data[i++]));
        if (pending_.size() > kMaxHead) {
          *why = "an HTTP request head larger than 16 KiB";
          return false;
        }
        if (pending_.size() < 4 || pending_.compare(pending_.size() - 4, 4, "\r\n\r\n") != 0) {
          break;
        }
        const FirstFlight f =
            ParseFirstFlight(reinterpret_cast<const uint8_t*>(pending_.data()), pending_.size());
        if (f.kind != FirstFlight::kHttp) {
          *why = "unparseable HTTP request: " + f.error;
          return false;
        }
        if (f.name.empty()) {
          *why = "HTTP Host: " + f.error;
          return false;
        }
        if (std::string no = check(f.name); !no.empty()) {
          *why = no;
          return false;
        }
        int te_count = 0, cl_count = 0;
        const std::string te = Lower(Header(pending_, "transfer-encoding", &te_count));
        const std::string cl = Header(pending_, "content-length", &cl_count);
        forward->append(pending_);
        pending_.clear();
        if (te_count > 0) {
          // Request smuggling needs two framings; one is all we accept.
          if (cl_count > 0 || te_count > 1 || te != "chunked") {
            *why = "an HTTP request framed other than by one chunked Transfer-Encoding";
            return false;
          }
          state_ = State::kChunkSize;
        } else if (cl_count > 0) {
          if (cl_count > 1 || cl.empty() || cl.size() > 18 ||
              !std::all_of(cl.begin(), cl.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            *why = "an HTTP request with a bad Content-Length";
            return false;
          }
          left_ = std::stoull(cl);
          if (left_ > 0) state_ = State::kBody;
        }
        break;
      }
      case State::kBody:
      case State::kChunkData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(left_, len - i));
        forward->append(reinterpret_cast<const char*>(data + i), n);
        i += n;
        left_ -= n;
        if (left_ == 0) state_ = state_ == State::kBody ? State::kHead : State::kChunkEnd;
        break;
      }
      case State::kChunkEnd:
      case State::kChunkSize:
      case State::kTrailers: {
        pending_.push_back(static_cast<char>(data[i++]));
        if (pending_.size() > kMaxLine) {
          *why = "a chunked HTTP body line longer than 1 KiB";
          return false;
        }
        if (pending_.size() < 2 || pending_.compare(pending_.size() - 2, 2, "\r\n") != 0) break;
        forward->append(pending_);
        const std::string line = pending_.substr(0, pending_.size() - 2);
        pending_.clear();
        if (state_ == State::kChunkEnd) {
          if (!line.empty()) {
            *why = "a chunk of an HTTP body longer than its size";
            return false;
          }
          state_ = State::kChunkSize;
        } else if (state_ == State::kTrailers) {
          if (line.empty()) state_ = State::kHead;
        } else {
          const std::string size = line.substr(0, line.find(';'));
          if (size.empty() || size.size() > 15 ||
              !std::all_of(size.begin(), size.end(),
                           [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
            *why = "a bad chunk size in an HTTP body";
            return false;
          }
          left_ = std::stoull(size, nullptr, 16);
          state_ = left_ == 0 ? State::kTrailers : State::kChunkData;
        }
        break;
      }
    }
  }
  return true;
}

}  // namespace hive::net
