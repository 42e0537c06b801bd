// cpp-httplib's task queue for the daemon: one thread per connection, at most max_connections at
// once. cpp-httplib's own ThreadPool has a fixed few threads and an unbounded queue, so a handful
// of slow clients held every thread while /health waited in the queue; here a connection is
// either served at once or, past the cap, refused at once (the task runs on the accepting thread
// with refusing() true, and the server answers 503 and closes without reading).
//
// Owned by cpp-httplib's accept loop (made by Server::new_task_queue, destroyed after shutdown()).
// enqueue() and shutdown() are called by that one thread; the workers end by themselves.
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace pgdr::daemon {

class ConnectionThreads : public httplib::TaskQueue {
 public:
  // close_all: makes every connection in hand end soon (shuts their sockets), for shutdown().
  ConnectionThreads(int max_connections, std::function<void()> close_all);
  ~ConnectionThreads() override;

  void enqueue(std::function<void()> fn) override;
  // Closes the connections in hand and waits for their threads.
  void shutdown() override;

  // True while a task runs as a refused connection (on the accepting thread).
  static bool refusing();

 private:
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void join_finished();

  int max_connections_;
  std::function<void()> close_all_;
  std::list<Worker> workers_;  // a list: each thread holds its Worker's address
  std::mutex mu_;
  int active_ = 0;
};

}  // namespace pgdr::daemon
