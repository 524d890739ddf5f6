// hive::EventLoop: the supervisor's one wait — epoll over registered descriptors, each with
// its handler. The setup phase and the run share it, so a timeout, a signal or a seccomp
// notification is served whatever the supervisor is waiting for.
//
//   EventLoop loop;
//   HIVE_TRY(loop.Add(timer_fd, [&](uint32_t) { timed_out = true; loop.Stop(); }));
//   if (!loop.WaitReadable(sync_fd)) ...         // stopped by a handler first
//   loop.Run();                                  // until a handler calls Stop()
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "base/unique_fd.h"
#include "hive/status.h"

namespace hive {

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;

  EventLoop();
  // Watches `fd` for input; `handler` is called with the epoll events when it is ready.
  Status Add(int fd, Handler handler);
  void Remove(int fd);
  // Handles events until a handler calls Stop().
  void Run();
  // Handles events until `fd` (not otherwise registered) is readable or hung up: true; false
  // once a handler called Stop() first. The stop stays in effect for later calls.
  bool WaitReadable(int fd);
  void Stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }

 private:
  // One epoll_wait and its dispatch; true when `target` was among the ready descriptors.
  bool Turn(int target);

  UniqueFd ep_;
  std::map<int, Handler> handlers_;
  bool stopped_ = false;
};

}  // namespace hive
