#pragma once
// A scripted Transport for unit tests: replies are queued (or computed by a
// handler) and every request is recorded for assertions.
#include <deque>
#include <functional>
#include <vector>

#include "connectors/http.hpp"

namespace peoplesync::testing {

class FakeTransport final : public connectors::Transport {
 public:
  using Handler = std::function<connectors::Result(const connectors::Request&)>;

  void push(connectors::Result r) { queue_.push_back(std::move(r)); }
  void push_json(int status, std::string body) {
    connectors::Response r;
    r.status = status;
    r.headers.push_back({"Content-Type", "application/json;charset=UTF-8"});
    r.body = std::move(body);
    queue_.push_back(std::move(r));
  }
  void on(Handler h) { handler_ = std::move(h); }
  const std::vector<connectors::Request>& requests() const { return requests_; }

  boost::asio::awaitable<connectors::Result> send(connectors::Request request) override {
    requests_.push_back(request);
    if (!queue_.empty()) {
      connectors::Result r = std::move(queue_.front());
      queue_.pop_front();
      co_return r;
    }
    if (handler_) co_return handler_(requests_.back());
    co_return connectors::Failure{connectors::TransportFailure::protocol, "FakeTransport: no scripted reply"};
  }

 private:
  std::deque<connectors::Result> queue_;
  Handler handler_;
  std::vector<connectors::Request> requests_;
};

}  // namespace peoplesync::testing
