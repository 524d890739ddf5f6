// hive::net::HttpRequestStream: the client side of an inspected HTTP/1.x connection, request
// after request. Each request head is held back until it is complete and its Host is
// accepted; bodies (Content-Length or chunked) pass through as they come. Keep-alive and
// pipelined requests are each checked, so a connection opened for an allowed Host cannot
// carry a request for another.
//
//   HttpRequestStream s;
//   std::string out, why;
//   if (!s.Feed(buf, n, check, &out, &why)) refuse(why);   // check(host) -> "" or why not
//   send(upstream, out);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace hive::net {

class HttpRequestStream {
 public:
  // `check` gets each request's Host (lowercase, port stripped) and returns "" to allow it
  // or why not. Appends to *forward what may go upstream; false (and *why) to refuse.
  bool Feed(const uint8_t* data, size_t len,
            const std::function<std::string(const std::string& host)>& check, std::string* forward,
            std::string* why);

 private:
  enum class State { kHead, kBody, kChunkSize, kChunkData, kChunkEnd, kTrailers };
  State state_ = State::kHead;
  std::string pending_;  // a head, chunk-size line or trailer line not complete yet
  uint64_t left_ = 0;    // body or chunk bytes still to pass
};

}  // namespace hive::net
